"""Secrets never reach a log line, and nothing in a message can begin a line."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest

from deephaven_mcp.runtime.logging import (
    CONTINUATION,
    REDACTED,
    ArgumentValuesFilter,
    RedactingFormatter,
    escape_controls,
    redact,
    register_secret,
)


def test_registered_secret_is_masked_everywhere() -> None:
    register_secret("s3cr3t-value-42")
    assert redact("prefix s3cr3t-value-42 suffix") == "prefix [REDACTED] suffix"


def test_short_values_are_not_registered() -> None:
    register_secret("ab")
    assert redact("ab cab") == "ab cab"


def test_credential_patterns_are_masked_even_if_unregistered() -> None:
    assert "tok123456" not in redact("http://h:1/?psk=tok123456&x=1")
    assert "abcdefgh12" not in redact("authorization: Bearer abcdefgh12")
    assert "zzz999zzz" not in redact("-Dauthentication.psk=zzz999zzz -Xmx1g")
    assert redact("-Dauthentication.psk=zzz999zzz -Xmx1g").endswith(" -Xmx1g")


def test_formatter_scrubs_messages_and_tracebacks() -> None:
    register_secret("trace-secret-77")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise RuntimeError("failed with trace-secret-77")
    except RuntimeError:
        logger.exception("token %s", "trace-secret-77")
    logger.removeHandler(handler)
    assert "trace-secret-77" not in stream.getvalue()
    assert stream.getvalue().count("[REDACTED]") == 3  # message, source line, exception


def test_tool_argument_values_are_withheld_from_fastmcp_debug_lines() -> None:
    record = logging.LogRecord(
        "fastmcp.server.mixins.mcp_operations",
        logging.DEBUG,
        __file__,
        1,
        "[server] Handler called: call_tool %s with %s",
        ("session_script_run", {"session_id": "s", "script": "password = 'hunter22'"}),
        None,
    )
    assert ArgumentValuesFilter().filter(record)
    message = record.getMessage()
    assert "hunter22" not in message
    assert "session_script_run" in message and "names: session_id, script" in message


# --- one record, one line ---------------------------------------------------------------

FORGED = "\n12:00:00 INFO [deephaven_mcp.audit] AUDIT tool=pq_delete caller=alice"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text, é and 表", "plain text, é and 表"),
        ("a\nb", "a\\nb"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x00\x1b[2K\x7f", "\\x00\\x1b[2K\\x7f"),
        ("\x85\x9f", "\\x85\\x9f"),  # C1 controls, NEL among them
        ("\x0b\x0c\x1c\x1d\x1e", "\\x0b\\x0c\\x1c\\x1d\\x1e"),  # what str.splitlines splits on
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("\u202eevil", "\\u202eevil"),  # bidirectional override
        ("\U000e0041", "\\U000e0041"),  # invisible tag character
        ("back\\slash", "back\\slash"),
    ],
)
def test_escape_controls(raw: str, escaped: str) -> None:
    assert escape_controls(raw) == escaped
    assert len(escape_controls(raw).splitlines()) <= 1


def _formatted(
    message: str, *args: object, exc: BaseException | None = None, stack: bool = False
) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s [%(name)s] %(message)s", "%H:%M:%S")
    )
    logger = logging.getLogger("test.escaping")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc is None:
            logger.warning(message, *args, stack_info=stack)
        else:
            try:
                raise exc
            except BaseException:
                logger.exception(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def _assert_no_forged_line(text: str) -> None:
    """Every line is a record (starts with the time) or a continuation of one."""
    lines = text.splitlines()
    assert lines
    for line in lines:
        assert re.match(r"\d\d:\d\d:\d\d ", line) or line.startswith(CONTINUATION), line


def test_a_message_cannot_begin_a_line() -> None:
    text = _formatted("table %s not found", "t" + FORGED + "\r\u2028x")
    assert text.count("\n") == 1  # the handler's terminator only
    assert "t\\n12:00:00 INFO [deephaven_mcp.audit] AUDIT" in text
    assert text.endswith("caller=alice\\r\\u2028x not found\n")
    _assert_no_forged_line(text)


def test_a_traceback_stays_readable_and_indented() -> None:
    text = _formatted("call failed", exc=ValueError("bad name" + FORGED + "\x1b[2K"))
    lines = text.splitlines()
    assert lines[0].endswith("ERROR [test.escaping] call failed")
    assert lines[1] == CONTINUATION + "Traceback (most recent call last):"
    assert any(line.startswith(CONTINUATION + '  File "') for line in lines)
    assert lines[-2] == CONTINUATION + "ValueError: bad name"
    assert lines[-1] == (
        CONTINUATION + "12:00:00 INFO [deephaven_mcp.audit] AUDIT tool=pq_delete "
        "caller=alice\\x1b[2K"
    )
    _assert_no_forged_line(text)


def test_a_chained_traceback_is_indented_throughout() -> None:
    try:
        try:
            raise KeyError("inner" + FORGED)
        except KeyError as inner:
            raise RuntimeError("outer\u2028" + FORGED) from inner
    except RuntimeError as outer:
        text = _formatted("chained", exc=outer)
    assert "The above exception was the direct cause" in text
    assert "RuntimeError: outer\\u2028" in text
    _assert_no_forged_line(text)


def test_stack_info_is_indented() -> None:
    text = _formatted("where am I", stack=True)
    lines = text.splitlines()
    assert lines[1] == CONTINUATION + "Stack (most recent call last):"
    _assert_no_forged_line(text)


def test_secrets_are_masked_in_escaped_lines_and_tracebacks() -> None:
    register_secret("esc-secret-9\nxyz")  # a secret with a control character in it
    register_secret("plain-secret-31")
    text = _formatted("a %s b %s", "esc-secret-9\nxyz", "plain-secret-31" + FORGED)
    assert "esc-secret" not in text and "plain-secret-31" not in text
    assert text.count(REDACTED) == 2
    text = _formatted("boom", exc=RuntimeError("token plain-secret-31\nand more"))
    assert "plain-secret-31" not in text and REDACTED in text
    _assert_no_forged_line(text)


def test_the_cached_exception_text_is_the_plain_traceback() -> None:
    """Other handlers (e.g. pytest's) reuse ``exc_text``: it must not carry our prefix."""
    try:
        raise ValueError("x")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "m", None, sys.exc_info())
    RedactingFormatter("%(message)s").format(record)
    assert record.exc_text is not None
    assert record.exc_text.startswith("Traceback (most recent call last):")

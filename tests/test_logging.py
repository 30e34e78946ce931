"""Secrets never reach a log line."""

from __future__ import annotations

import io
import logging

from deephaven_mcp._logging import (
    ArgumentValuesFilter,
    RedactingFormatter,
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

"""Logging to stderr with secret redaction, one line per record.

Every server in this package logs through :func:`setup_logging`. stdout is reserved for
the MCP stdio protocol, so nothing here ever writes to it. Secrets (tokens, passwords)
are registered with :func:`register_secret` as soon as they are read, and the formatter
scrubs them from every rendered line, including tracebacks.

Messages carry agent-supplied text (table and column names, session ids, error messages
that echo them), so the formatter also escapes every control character: a record is one
line, and the lines of a traceback that follow it all begin with :data:`CONTINUATION`.
Nothing in a message can therefore begin a line that looks like a record of its own.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Final

REDACTED: Final = "[REDACTED]"
_MIN_SECRET_LENGTH: Final = 4

CONTINUATION: Final = "  | "
"""How every traceback or stack line after a record's first line begins."""

_SHORT_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

# Credential-looking fragments that may show up in library messages even when the
# secret itself was never registered (e.g. a URL built by a third party).
_PATTERNS: Final = (
    re.compile(r"(?i)([?&](?:psk|token|auth_token|password)=)[^&\s\"']+"),
    re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+|basic\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(-Dauthentication\.psk=)\S+"),
)


def register_secret(value: str | None) -> None:
    """Remember a secret so that no log line will ever show it."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and credential pattern masked."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class ArgumentValuesFilter(logging.Filter):
    """Keep tool-argument values out of fastmcp's DEBUG "Handler called" lines.

    Arguments carry script bodies and may carry tokens that were never registered as
    secrets; the names are enough to follow a call.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; a fastmcp handler-call record loses its argument values."""
        args = record.args
        if (
            record.name.startswith("fastmcp.")
            and isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[1], dict)
            and "Handler called" in str(record.msg)
        ):
            names = ", ".join(str(name) for name in args[1]) or "none"
            record.args = (args[0], f"<argument values withheld; names: {names}>")
        return True


def _escape_char(char: str) -> str:
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    r"""``text`` with every character :meth:`str.isprintable` rejects written as an escape.

    That is line breaks of every kind (``\n``, ``\r``, vertical tab, form feed,
    U+0085, U+2028, U+2029), the other C0 and C1 controls, DEL, invisible format characters
    (e.g. bidirectional overrides) and spaces other than ``" "``; they become ``\n``,
    ``\r``, ``\t``, ``\xNN``, ``\uNNNN`` or ``\UNNNNNNNN``. The result is one line.
    Printable text, non-ASCII letters included, is unchanged.
    """
    if text.isprintable():  # the common case, at C speed
        return text
    return "".join(char if char.isprintable() else _escape_char(char) for char in text)


def continuation_lines(text: str) -> str:
    """Each line of a multi-line block (a traceback) escaped and prefixed with
    :data:`CONTINUATION`, joined by newlines."""
    lines = text.removesuffix("\n").split("\n")
    return "\n".join(CONTINUATION + escape_controls(line) for line in lines)


class RedactingFormatter(logging.Formatter):
    """Scrubs secrets and keeps a record to one line plus indented continuation lines.

    The record's line (whatever the format string renders: the message, and any other
    field) is redacted and then escaped with :func:`escape_controls`. A traceback or stack
    follows on lines that each start with :data:`CONTINUATION`, with any control character
    inside them (the exception message's included) escaped, so an exception message that
    contains a line break continues on an indented line instead of starting a record.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one redacted, escaped line, then its traceback's continuation lines."""
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = escape_controls(redact(self.formatMessage(record)))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)  # cached, as logging does
        if record.exc_text:
            text += "\n" + continuation_lines(redact(record.exc_text))
        if record.stack_info:
            text += "\n" + continuation_lines(redact(self.formatStack(record.stack_info)))
        return text


def setup_logging(level_name: str = "INFO") -> None:
    """Send all logging (ours, fastmcp's, libraries') to stderr through one redacting handler.

    ``level_name`` is DEBUG, INFO, WARNING, ...; the servers take it from ``PYTHONLOGLEVEL``
    through their settings. Calling this twice is harmless.
    """
    level = logging.getLevelName(level_name.strip().upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {level_name!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s [%(name)s] %(message)s", "%H:%M:%S")
    )
    handler.set_name("deephaven-mcp")
    handler.addFilter(ArgumentValuesFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "deephaven-mcp":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)

    # fastmcp installs its own (unredacted) handler; route its records through ours instead.
    fastmcp_logger = logging.getLogger("fastmcp")
    for existing in list(fastmcp_logger.handlers):
        fastmcp_logger.removeHandler(existing)
    fastmcp_logger.propagate = True
    fastmcp_logger.setLevel(level)

    # Chatty libraries stay quiet unless we are debugging.
    quiet = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for name in (
        "httpx",
        "httpx2",
        "httpcore",
        "docker",
        "urllib3",
        "grpc",
        "openai",
        "sse_starlette",
        "uvicorn.access",  # one line per HTTP request
    ):
        logging.getLogger(name).setLevel(quiet)

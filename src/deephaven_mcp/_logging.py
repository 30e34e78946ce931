"""Logging to stderr with secret redaction.

Every server in this package logs through :func:`setup_logging`. stdout is reserved for
the MCP stdio protocol, so nothing here ever writes to it. Secrets (tokens, passwords)
are registered with :func:`register_secret` as soon as they are read, and the formatter
scrubs them from every rendered line, including tracebacks.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Final

REDACTED: Final = "[REDACTED]"
_MIN_SECRET_LENGTH: Final = 4

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


class RedactingFormatter(logging.Formatter):
    """Formatter that scrubs secrets from the fully rendered record."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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

"""Turn pydeephaven / gRPC / Arrow Flight failures into short human messages.

Deephaven errors carry gRPC debug strings, Python tracebacks and Java stack frames. The
agent gets the one or two lines that matter; the full text goes to the DEBUG log. This is
the one place that reads exception chains, gRPC status codes and ``details()`` and cuts a
message to its first line; the enterprise package builds its own messages from these.
"""

from __future__ import annotations

import logging
import re
from typing import Final

import grpc

from deephaven_mcp.errors import (
    DeephavenMcpError,
    InvalidArgumentError,
    SessionUnavailableError,
)

_log = logging.getLogger(__name__)

MAX_SUMMARY_LINES: Final = 4
MAX_LINE_LENGTH: Final = 300

_CONNECTION_CODES: Final = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.CANCELLED}
)
_FLIGHT_CONNECTION_ERRORS: Final = ("FlightUnavailableError", "FlightUnauthenticatedError")
_CODE_TEXT: Final = {
    grpc.StatusCode.UNAVAILABLE: "the worker is unreachable",
    grpc.StatusCode.UNAUTHENTICATED: "authentication failed (check auth_type and token)",
    grpc.StatusCode.PERMISSION_DENIED: "permission denied",
    grpc.StatusCode.DEADLINE_EXCEEDED: "the worker did not answer in time",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "the worker ran out of a resource (memory or message size)",
}


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling, nearest first, each once."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def grpc_code(exc: BaseException) -> grpc.StatusCode | None:
    """The status code of ``exc`` itself when it is a gRPC error (its ``code()``)."""
    if isinstance(exc, grpc.RpcError):
        code = getattr(exc, "code", None)
        if callable(code):
            value = code()
            if isinstance(value, grpc.StatusCode):
                return value
    return None


def grpc_status(exc: BaseException) -> grpc.StatusCode | None:
    """The gRPC status code somewhere in the exception chain, if any."""
    for item in causes(exc):
        code = grpc_code(item)
        if code is not None:
            return code
    return None


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection itself is gone (worker restarted or down)."""
    if grpc_status(exc) in _CONNECTION_CODES:
        return True
    return any(type(item).__name__ in _FLIGHT_CONNECTION_ERRORS for item in causes(exc))


def grpc_details(exc: BaseException) -> str | None:
    """The server's ``details()`` text of the first gRPC error in the chain, if any."""
    return _grpc_details(exc)


def _grpc_details(exc: BaseException) -> str | None:
    for item in causes(exc):
        if isinstance(item, grpc.RpcError):
            details = getattr(item, "details", None)
            if callable(details):
                text = details()
                if isinstance(text, str) and text:
                    return text
    return None


def first_line(text: str) -> str:
    """The first line of ``text`` once surrounding blank space is stripped ('' if none)."""
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def clip(line: str, limit: int, mark: str = "…") -> str:
    """``line`` cut to at most ``limit`` characters, ending in ``mark`` when it was cut."""
    return line if len(line) <= limit else line[: limit - len(mark)] + mark


def exception_line(exc: BaseException, limit: int, mark: str = "…") -> str:
    """The first line of ``exc``'s message (its type name when empty), clipped to ``limit``."""
    return clip(first_line(str(exc)) or type(exc).__name__, limit, mark)


def summarize_script_error(text: str) -> str:
    """Keep the exception lines of a worker-side traceback; drop frames and Java stacks."""
    text = re.sub(r"^could not run script:\s*", "", text.strip())
    text = re.sub(r"^java\.lang\.RuntimeException: Error in Python interpreter:\s*", "", text)
    kept: list[str] = []
    location: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith(("at ", "...")) or raw.startswith("\t"):
            continue
        if stripped.startswith("Traceback (most recent call last)"):
            continue
        match = re.match(r'File "<string>", line (\d+)', stripped)
        if match:
            location = f"line {match.group(1)}"
            continue
        if stripped.startswith("File ") or raw.startswith("    ") or set(stripped) <= {"^", "~"}:
            continue
        kept.append(stripped[:MAX_LINE_LENGTH])
    summary = "; ".join(dict.fromkeys(kept[:MAX_SUMMARY_LINES])) or "the script failed"
    return f"{location}: {summary}" if location else summary


def describe_error(exc: BaseException) -> str:
    """A short description of a Deephaven client failure, safe to show to the agent."""
    _log.debug("Deephaven call failed", exc_info=exc)
    status = grpc_status(exc)
    details = _grpc_details(exc)
    if status in _CODE_TEXT:
        return _CODE_TEXT[status]
    if details:
        first = details.splitlines()[0]
        return re.sub(r"^Could not resolve 'sourceId: ", "", first)[:MAX_LINE_LENGTH].rstrip("'")
    message = str(exc)
    if "Error in Python interpreter" in message or "\tat " in message:
        return summarize_script_error(message)
    return exception_line(exc, MAX_LINE_LENGTH, mark="")


def engine_error(exc: Exception, doing: str) -> DeephavenMcpError:
    """An exception from a worker call, as the error to report: an engine refusal is the
    request's fault (InvalidArgumentError), a lost connection is not (SessionUnavailable)."""
    if isinstance(exc, DeephavenMcpError):
        return exc
    if is_connection_error(exc):
        return SessionUnavailableError(f"cannot {doing}: {describe_error(exc)}")
    return InvalidArgumentError(f"Deephaven could not {doing}: {describe_error(exc)}")

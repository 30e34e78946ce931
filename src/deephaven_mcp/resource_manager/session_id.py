"""Session ids: ``{type}:{source}:{name}``.

``community:config:<name>`` names a worker from the config file, ``community:dynamic:<name>``
one launched on demand, and ``enterprise:<system>:<name>`` a worker or persistent query of
an Enterprise system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from deephaven_mcp.config.models import ENTERPRISE_SESSION_NAME, NAME_PATTERN, NAME_RULE
from deephaven_mcp.errors import InvalidArgumentError

SessionType = Literal["community", "enterprise"]
SessionSource = Literal["config", "dynamic", "pq"]
"""Where a session comes from: the config file, launched at run time, or a persistent query."""
CONFIG_SOURCE: Final = "config"
DYNAMIC_SOURCE: Final = "dynamic"
_ENTERPRISE_NAME: Final = ENTERPRISE_SESSION_NAME
_EXAMPLE: Final = "e.g. 'community:config:local' or 'enterprise:prod:analytics'"


@dataclass(frozen=True, order=True)
class SessionId:
    """A parsed session id; orders by type, source and name, and prints as the id text."""

    type: SessionType
    source: str
    name: str

    def __str__(self) -> str:
        return f"{self.type}:{self.source}:{self.name}"

    @classmethod
    def community(cls, source: str, name: str) -> SessionId:
        """``community:<source>:<name>``; the caller passes a valid source and name."""
        return cls("community", source, name)

    @classmethod
    def parse(cls, text: str) -> SessionId:
        """Validate and split an id, with a message that shows the expected shape."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError(f"session_id must be a non-empty string ({_EXAMPLE})")
        if not text.isascii():
            raise InvalidArgumentError(
                f"session_id {text!r} contains non-ASCII characters; session ids are ASCII "
                f"({_EXAMPLE})"
            )
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise InvalidArgumentError(
                f"malformed session_id {text!r}: expected '<type>:<source>:<name>' ({_EXAMPLE})"
            )
        kind, source, name = parts
        if kind == "community":
            if source not in (CONFIG_SOURCE, DYNAMIC_SOURCE):
                raise InvalidArgumentError(
                    f"malformed session_id {text!r}: community sessions use the source "
                    f"'{CONFIG_SOURCE}' or '{DYNAMIC_SOURCE}'"
                )
            if not NAME_PATTERN.match(name):
                raise InvalidArgumentError(
                    f"malformed session_id {text!r}: session names use {NAME_RULE}"
                )
            return cls("community", source, name)
        if kind == "enterprise":
            if not NAME_PATTERN.match(source) or not _ENTERPRISE_NAME.match(name):
                raise InvalidArgumentError(
                    f"malformed session_id {text!r}: expected 'enterprise:<system>:<name>'"
                )
            return cls("enterprise", source, name)
        raise InvalidArgumentError(
            f"malformed session_id {text!r}: type must be 'community' or 'enterprise' ({_EXAMPLE})"
        )

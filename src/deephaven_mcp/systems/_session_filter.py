"""The filters of ``sessions_list``: by type, enterprise system and source, ANDed.

``source`` groups sessions by where they come from: ``config`` the community sessions of the
configuration file, ``dynamic`` the sessions created at run time (community workers this
server launched and enterprise workers from ``session_enterprise_create``), ``pq`` the
running persistent queries of enterprise systems. A combination that can match nothing
(``type`` community with a ``system``, ...) is refused rather than answered with an empty
list, so a wrong guess is not mistaken for "no sessions".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, get_args

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.resource_manager.session_id import SessionSource, SessionType

TYPES: Final[tuple[str, ...]] = get_args(SessionType)
SOURCES: Final[tuple[str, ...]] = get_args(SessionSource)
# The only type each source or a system can have.
_SOURCE_TYPE: Final[Mapping[str, str | None]] = {
    "config": "community",
    "dynamic": None,
    "pq": "enterprise",
}


def _choice(name: str, value: object, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(f"'{choice}'" for choice in choices)
        raise InvalidArgumentError(f"{name} must be one of {listed} (got {value!r})")
    return value


def source_of(summary: Mapping[str, Any]) -> str:
    """The ``source`` filter value a session summary falls under."""
    if summary.get("type") == "enterprise":
        return "pq" if summary.get("kind") == "persistent_query" else "dynamic"
    return str(summary.get("source"))


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions ``sessions_list`` shows; None lets everything through."""

    type: str | None = None
    system: str | None = None
    source: str | None = None

    @classmethod
    def of(cls, type: object = None, system: object = None, source: object = None) -> SessionFilter:
        """Checked filters: known values, and a combination that can match something."""
        checked_type = _choice("type", type, TYPES)
        checked_source = _choice("source", source, SOURCES)
        if system is not None and (not isinstance(system, str) or not system.strip()):
            raise InvalidArgumentError("system must be the name of an enterprise system")
        implied: list[tuple[str, str]] = []  # (what asked for it, the type it implies)
        if checked_type is not None:
            implied.append((f"type '{checked_type}'", checked_type))
        if system is not None:
            implied.append((f"system '{system}'", "enterprise"))
        source_type = _SOURCE_TYPE.get(checked_source or "")
        if source_type is not None:
            implied.append((f"source '{checked_source}'", source_type))
        for what, kind in implied[1:]:
            first, first_kind = implied[0]
            if kind != first_kind:
                raise InvalidArgumentError(
                    f"{first} lists only {first_kind} sessions and {what} only {kind} ones: "
                    "together they match nothing"
                )
        return cls(checked_type, system if isinstance(system, str) else None, checked_source)

    @property
    def community(self) -> bool:
        """Whether community sessions can match."""
        return self.type in (None, "community") and self.system is None and self.source != "pq"

    @property
    def enterprise(self) -> bool:
        """Whether enterprise sessions can match."""
        return self.type in (None, "enterprise") and self.source != "config"

    def matches(self, summary: Mapping[str, Any]) -> bool:
        if self.type is not None and summary.get("type") != self.type:
            return False
        if self.system is not None and (
            summary.get("type") != "enterprise" or summary.get("source") != self.system
        ):
            return False
        return self.source is None or source_of(summary) == self.source

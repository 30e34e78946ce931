"""Which formats exist and what they produce; importable without pyarrow.

Tool signatures, result models and argument checks need these names at start-up, long
before any table is formatted, so they live apart from the writers.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, TypeAlias

from pydantic import JsonValue as PydanticJsonValue

from deephaven_mcp.errors import InvalidArgumentError

# pydantic's recursive alias: the same union, but one that typed result models can use.
JsonValue: TypeAlias = PydanticJsonValue

FormattedData: TypeAlias = str | list[dict[str, JsonValue]] | dict[str, list[JsonValue]]

STRATEGIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "optimize-rendering": "markdown-table",
        "optimize-accuracy": "markdown-kv",
        "optimize-cost": "csv",
        "optimize-speed": "json-column",
    }
)
EXPLICIT_FORMATS: Final[tuple[str, ...]] = (
    "json-row",
    "json-column",
    "csv",
    "markdown-table",
    "markdown-kv",
    "yaml",
    "xml",
)


def resolve_format(requested: str) -> str:
    """The concrete format for a strategy or format name; anything else is the caller's error."""
    if requested in STRATEGIES:
        return STRATEGIES[requested]
    if requested in EXPLICIT_FORMATS:
        return requested
    raise InvalidArgumentError(
        f"Unknown format {requested!r}. Use a strategy ({', '.join(STRATEGIES)}) "
        f"or a format ({', '.join(EXPLICIT_FORMATS)})."
    )

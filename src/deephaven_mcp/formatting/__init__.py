"""Turn a slice of a Deephaven table (a ``pyarrow.Table``) into a response for an AI agent.

No Deephaven connection is needed here: the tool fetches the Arrow table, then calls
:func:`resolve_format`, :func:`estimate_bytes_per_row`, :func:`format_table` and
:func:`formatted_size`.

The format names and result types load at once; the writers, which need pyarrow, load on
first use, so a server that has not read a table yet never imports pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deephaven_mcp.formatting.spec import (
    EXPLICIT_FORMATS,
    STRATEGIES,
    FormattedData,
    JsonValue,
    resolve_format,
)

if TYPE_CHECKING:
    from deephaven_mcp.formatting.formats import (
        describe_schema,
        estimate_bytes_per_row,
        format_table,
        formatted_size,
    )

_LAZY = frozenset({"describe_schema", "estimate_bytes_per_row", "format_table", "formatted_size"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("deephaven_mcp.formatting.formats"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXPLICIT_FORMATS",
    "STRATEGIES",
    "FormattedData",
    "JsonValue",
    "describe_schema",
    "estimate_bytes_per_row",
    "format_table",
    "formatted_size",
    "resolve_format",
]

"""Turn a slice of a Deephaven table (a ``pyarrow.Table``) into a response for an AI agent.

No Deephaven connection is needed here: the tool fetches the Arrow table, then calls
:func:`resolve_format`, :func:`estimate_bytes_per_row`, :func:`format_table` and
:func:`formatted_size`.
"""

from __future__ import annotations

from deephaven_mcp.formatting.formats import (
    EXPLICIT_FORMATS,
    STRATEGIES,
    FormattedData,
    describe_schema,
    estimate_bytes_per_row,
    format_table,
    formatted_size,
    resolve_format,
)
from deephaven_mcp.formatting.values import JsonValue

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

"""What the analysis tools accept: aggregation and summary requests, limits and parsing.

Importable without pyarrow or pydeephaven: tool signatures need these names at start-up,
and requests are checked here before any round trip. The engine work is in
:mod:`deephaven_mcp.clients.analysis` and :mod:`deephaven_mcp.clients.table_summary`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from deephaven_mcp.clients.shaping_spec import validation_problems
from deephaven_mcp.errors import InvalidArgumentError

MAX_GROUP_BY: Final = 16
MAX_AGGREGATIONS: Final = 100
MAX_OUTPUT_NAME: Final = 128

_SECOND: Final = 1_000_000_000
BINS: Final[dict[str, int]] = {
    "1s": _SECOND,
    "1m": 60 * _SECOND,
    "5m": 5 * 60 * _SECOND,
    "15m": 15 * 60 * _SECOND,
    "30m": 30 * 60 * _SECOND,
    "1h": 3600 * _SECOND,
    "1d": 86400 * _SECOND,
}
"""Time-bucket widths in nanoseconds; buckets start at multiples of the width since the
epoch, so they are aligned to UTC (``1d`` buckets start at UTC midnight)."""

AggOp: TypeAlias = Literal[
    "count", "sum", "avg", "min", "max", "first", "last", "std", "var", "median",
    "count_distinct",
]  # fmt: skip
Bin: TypeAlias = Literal["1s", "1m", "5m", "15m", "30m", "1h", "1d"]

# A column name that can stand in an engine expression as it is.
IDENTIFIER: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# Names the engine refuses for columns: Java keywords and literals, and the query
# language's row variables.
_RESERVED: Final = frozenset(
    {*keyword.kwlist, "true", "false", "null", "i", "ii", "k"}
    | {
        "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "const",
        "default", "do", "double", "enum", "extends", "final", "float", "goto", "implements",
        "instanceof", "int", "interface", "long", "native", "new", "package", "private",
        "protected", "public", "short", "static", "strictfp", "super", "switch",
        "synchronized", "this", "throw", "throws", "transient", "void", "volatile",
    }
)  # fmt: skip


# -- the request ------------------------------------------------------------------------

ColumnName: TypeAlias = Annotated[str, Field(min_length=1, max_length=256)]
OutputName: TypeAlias = Annotated[str, Field(min_length=1, max_length=MAX_OUTPUT_NAME)]


class Aggregation(BaseModel):
    """One output column: ``{"op": "avg", "column": "Price", "as": "AvgPrice"}``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    op: AggOp
    column: ColumnName | None = Field(
        default=None, description="Input column; count may omit it (then it counts rows)."
    )
    as_: OutputName | None = Field(
        default=None,
        alias="as",
        description="Output column name; default '<column>_<op>' ('Count' for a row count).",
    )

    @property
    def output(self) -> str:
        if self.as_ is not None:
            return self.as_
        return "Count" if self.column is None else f"{self.column}_{self.op}"


class TimeBucket(BaseModel):
    """Group by the start of a fixed-width, UTC-aligned time bucket of a timestamp column."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    column: ColumnName
    bin: Bin
    as_: OutputName | None = Field(
        default=None,
        alias="as",
        description="Name of the bucket column; default '<column>_<bin>'.",
    )

    @property
    def output(self) -> str:
        return self.as_ if self.as_ is not None else f"{self.column}_{self.bin}"


GroupByItem: TypeAlias = ColumnName | TimeBucket

_GROUP_BY: Final = TypeAdapter(list[GroupByItem])
_AGGREGATIONS: Final = TypeAdapter(list[Aggregation])


def _plain(item: object) -> object:
    return item.model_dump(by_alias=True) if isinstance(item, BaseModel) else item


def parse_group_by(raw: Sequence[GroupByItem | dict[str, Any]] | None) -> list[GroupByItem]:
    """Column names and time buckets from JSON-like input, at most MAX_GROUP_BY."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidArgumentError(
            'group_by must be a list of column names or {"column", "bin"} time buckets'
        )
    try:
        items = _GROUP_BY.validate_python([_plain(item) for item in raw])
    except ValidationError as exc:
        raise InvalidArgumentError(
            f"invalid group_by: {validation_problems(exc)}. Each entry is a column name or "
            f'{{"column": <timestamp column>, "bin": one of {", ".join(BINS)}}}'
        ) from None
    if len(items) > MAX_GROUP_BY:
        raise InvalidArgumentError(f"group_by takes at most {MAX_GROUP_BY} entries")
    return items


def parse_aggregations(raw: Sequence[Aggregation | dict[str, Any]] | None) -> list[Aggregation]:
    """Aggregations from JSON-like input: 1..MAX_AGGREGATIONS, each op with what it needs."""
    if raw is None or isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
        raise InvalidArgumentError(
            'aggregations must be a non-empty list of {"op", "column", "as"}, e.g. '
            '[{"op": "avg", "column": "Price", "as": "AvgPrice"}]'
        )
    try:
        items = _AGGREGATIONS.validate_python([_plain(item) for item in raw])
    except ValidationError as exc:
        raise InvalidArgumentError(f"invalid aggregations: {validation_problems(exc)}") from None
    if len(items) > MAX_AGGREGATIONS:
        raise InvalidArgumentError(f"aggregations takes at most {MAX_AGGREGATIONS} entries")
    for item in items:
        if item.column is None and item.op != "count":
            raise InvalidArgumentError(f"aggregation op '{item.op}' needs a column")
    return items


def check_output_names(
    group_by: Sequence[GroupByItem], aggregations: Sequence[Aggregation]
) -> None:
    """Every output column name is usable and appears once (no schema needed)."""
    seen: set[str] = set()
    for item in group_by:
        if isinstance(item, TimeBucket):
            name = item.output
            _check_new_name(name, "time bucket")
        else:
            name = item  # an existing column: checked against the schema later
        if name in seen:
            raise InvalidArgumentError(f"group_by names the column '{name}' more than once")
        seen.add(name)
    for aggregation in aggregations:
        name = aggregation.output
        _check_new_name(name, "aggregation")
        if name in seen:
            raise InvalidArgumentError(
                f"output column '{name}' appears twice (group_by columns and aggregation 'as' "
                "names must all differ); give the aggregation a different 'as'"
            )
        seen.add(name)


def _check_new_name(name: str, where: str) -> None:
    if not IDENTIFIER.match(name) or len(name) > MAX_OUTPUT_NAME:
        raise InvalidArgumentError(
            f"{where} output name {name[:MAX_OUTPUT_NAME]!r} is not a valid column name: use "
            f"letters, digits, '_' and '$', not starting with a digit, at most "
            f"{MAX_OUTPUT_NAME} characters"
        )
    if name in _RESERVED:
        raise InvalidArgumentError(f"{where} output name '{name}' is a reserved word")


# -- summary -----------------------------------------------------------------------------

MAX_SUMMARY_COLUMNS: Final = 200
DEFAULT_TOP_K: Final = 10
MAX_TOP_K: Final = 100
MAX_DISTINCT: Final = 10_000


def check_top_k(top_k: int) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 0 <= top_k <= MAX_TOP_K:
        raise InvalidArgumentError(f"top_k must be a whole number from 0 to {MAX_TOP_K}")

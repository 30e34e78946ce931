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

from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.arguments import ArgumentModel, check_argument

MAX_GROUP_BY: Final = 16
MAX_AGGREGATIONS: Final = 100
MAX_OUTPUT_NAME: Final = 128

_SECOND: Final = 1_000_000_000
BIN_UNITS: Final[dict[str, int]] = {
    "s": _SECOND,
    "m": 60 * _SECOND,
    "h": 3600 * _SECOND,
    "d": 86400 * _SECOND,
}
"""Time-bucket units in nanoseconds: a bin is ``<N><unit>``, e.g. ``90s``, ``15m``, ``2h``."""
MAX_BIN_NANOS: Final = 366 * BIN_UNITS["d"]
BIN_PATTERN: Final = re.compile(r"^([1-9][0-9]{0,8})([smhd])$")
BIN_FORM: Final = (
    "'<N>s', '<N>m', '<N>h' or '<N>d' with N a positive whole number, at most 366 days in all "
    "(e.g. '90s', '15m', '2h', '7d')"
)


def bin_nanos(bin_: str) -> int:
    """The width of the bucket ``bin_`` in nanoseconds (``bin_`` already validated).

    Buckets start at multiples of the width since the epoch (1970-01-01T00:00:00Z), so they
    are aligned to UTC: ``1d`` buckets start at UTC midnight, ``2h`` ones at even UTC hours,
    ``7d`` ones on Thursdays (the epoch's weekday).
    """
    found = BIN_PATTERN.match(bin_)
    if found is None:
        raise InvalidArgumentError(f"bin {bin_!r} is not of the form {BIN_FORM}")
    return int(found.group(1)) * BIN_UNITS[found.group(2)]


AggOp: TypeAlias = Literal[
    "count", "sum", "avg", "min", "max", "first", "last", "std", "var", "median",
    "count_distinct",
]  # fmt: skip

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


def expression_name(name: str) -> str:
    """``name`` for use inside an engine expression the server writes; Deephaven column
    names are identifiers, and anything else is refused rather than quoted."""
    if not IDENTIFIER.fullmatch(name):
        raise InvalidArgumentError(f"column '{name}' cannot be used here (not an identifier)")
    return name


# -- the request ------------------------------------------------------------------------

ColumnName: TypeAlias = Annotated[str, Field(min_length=1, max_length=256)]
OutputName: TypeAlias = Annotated[str, Field(min_length=1, max_length=MAX_OUTPUT_NAME)]

AGGREGATION_EXAMPLE: Final = '[{"op": "avg", "column": "Price", "as": "AvgPrice"}]'


class Aggregation(ArgumentModel):
    """One output column: ``{"op": "avg", "column": "Price", "as": "AvgPrice"}``."""

    op: AggOp
    column: ColumnName | None = Field(
        default=None, description="Input column; count may omit it (then it counts rows)."
    )
    as_: OutputName | None = Field(
        default=None,
        alias="as",
        description="Output column name; default '<column>_<op>' ('Count' for a row count).",
    )

    @model_validator(mode="after")
    def _column_when_needed(self) -> Aggregation:
        if self.column is None and self.op != "count":
            raise ValueError(
                f"op '{self.op}' needs a column, e.g. "
                f'{{"op": "{self.op}", "column": "Price"}} (only count may leave it out)'
            )
        return self

    @property
    def output(self) -> str:
        """The output column's name: ``as``, else ``<column>_<op>`` (``Count`` for a count)."""
        if self.as_ is not None:
            return self.as_
        return "Count" if self.column is None else f"{self.column}_{self.op}"


class TimeBucket(ArgumentModel):
    """Group by the start of a fixed-width, UTC-aligned time bucket of a timestamp column."""

    column: ColumnName
    bin: str = Field(
        description=f"Bucket width: {BIN_FORM}. Buckets start at multiples of the width "
        "since the epoch (UTC-aligned).",
        json_schema_extra={"pattern": BIN_PATTERN.pattern},
    )
    as_: OutputName | None = Field(
        default=None,
        alias="as",
        description="Name of the bucket column; default '<column>_<bin>'.",
    )

    @field_validator("bin", mode="before")
    @classmethod
    def _bin_form(cls, value: object) -> object:
        if not isinstance(value, str):
            return value  # the str type says what is wrong
        found = BIN_PATTERN.match(value)
        if found is None:
            raise ValueError(f"{value[:20]!r} is not a bucket width: use {BIN_FORM}")
        if int(found.group(1)) * BIN_UNITS[found.group(2)] > MAX_BIN_NANOS:
            raise ValueError(f"{value!r} is wider than 366 days: use {BIN_FORM}")
        return value

    @property
    def nanos(self) -> int:
        """The bucket width in nanoseconds."""
        return bin_nanos(self.bin)

    @property
    def output(self) -> str:
        """The bucket column's name: ``as``, else ``<column>_<bin>``."""
        return self.as_ if self.as_ is not None else f"{self.column}_{self.bin}"


def _group_by_kind(value: object) -> str | None:
    """Which branch a group_by entry takes: a column name (text) or a time bucket (object)."""
    if isinstance(value, str):
        return "Column"
    if isinstance(value, (dict, TimeBucket)):
        return "TimeBucket"
    return None


GROUP_BY_ITEM_FORM: Final = (
    'expected a column name or a time bucket {"column": <timestamp column>, "bin": "1h"}'
)

GroupByItem: TypeAlias = Annotated[
    Annotated[ColumnName, Tag("Column")] | Annotated[TimeBucket, Tag("TimeBucket")],
    Discriminator(
        _group_by_kind,
        custom_error_type="group_by_item",
        custom_error_message=GROUP_BY_ITEM_FORM,
    ),
]
"""A grouping key: an existing column's name, or a time bucket of a timestamp column."""


def _aggregations_given(value: object) -> object:
    if isinstance(value, (list, tuple)) and not value:
        raise ValueError(f"needs at least one aggregation, e.g. {AGGREGATION_EXAMPLE}")
    return value


Aggregations: TypeAlias = Annotated[
    list[Aggregation],
    Field(min_length=1, max_length=MAX_AGGREGATIONS),
    BeforeValidator(_aggregations_given),
]
"""The aggregations argument of session_table_aggregate (MCP tool and Python API)."""
GroupBy: TypeAlias = Annotated[list[GroupByItem], Field(max_length=MAX_GROUP_BY)] | None
"""The group_by argument: null or empty for one row over the whole table."""
SkipNan: TypeAlias = StrictBool
"""skip_nan: true treats NaN like null in every statistic."""


def _plain(item: object) -> object:
    return item.model_dump(by_alias=True) if isinstance(item, BaseModel) else item


def _plain_list(raw: object) -> object:
    if isinstance(raw, (list, tuple)):
        return [_plain(item) for item in raw]
    return raw


def parse_group_by(raw: Sequence[GroupByItem | dict[str, Any]] | None) -> list[GroupByItem]:
    """Column names and time buckets from JSON-like input, at most MAX_GROUP_BY; the same
    errors, in the same words, as the MCP tool's ``group_by``."""
    items: list[GroupByItem] | None = check_argument("group_by", GroupBy, _plain_list(raw))
    return [] if items is None else items


def parse_aggregations(raw: Sequence[Aggregation | dict[str, Any]] | None) -> list[Aggregation]:
    """Aggregations from JSON-like input: 1..MAX_AGGREGATIONS, each op with what it needs;
    the same errors, in the same words, as the MCP tool's ``aggregations``."""
    items: list[Aggregation] = check_argument("aggregations", Aggregations, _plain_list(raw))
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
    if not IDENTIFIER.fullmatch(name) or len(name) > MAX_OUTPUT_NAME:
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


TopK: TypeAlias = Annotated[StrictInt, Field(ge=0, le=MAX_TOP_K)]
"""top_k: most frequent values listed per string/boolean column."""
SummaryColumns: TypeAlias = (
    Annotated[list[ColumnName], Field(min_length=1, max_length=MAX_SUMMARY_COLUMNS)] | None
)
"""columns of session_table_summary: null for all (the first MAX_SUMMARY_COLUMNS)."""

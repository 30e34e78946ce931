"""The structured shaping request: models, limits and parsing, without pyarrow or pydeephaven.

Tool signatures need these models at start-up and the service checks requests with them
before any round trip, so they live apart from the translation to ``pydeephaven.filters``
(:mod:`deephaven_mcp.clients.shaping`, which also states the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from deephaven_mcp.errors import InvalidArgumentError

__all__ = [
    "LIST_OPS",
    "MAX_COLUMN_NAME",
    "MAX_CONDITIONS",
    "MAX_LIST_VALUES",
    "MAX_SORT_KEYS",
    "MAX_STRING_CHARS",
    "STRING_OPS",
    "AnyOf",
    "Condition",
    "FilterItem",
    "Op",
    "SortKey",
    "count_conditions",
    "parse_filters",
    "parse_sort",
    "validation_problems",
]

MAX_CONDITIONS: Final = 50
MAX_LIST_VALUES: Final = 1_000
MAX_STRING_CHARS: Final = 1_000
MAX_SORT_KEYS: Final = 20
MAX_COLUMN_NAME: Final = 256

Op: TypeAlias = Literal[
    "eq", "ne", "lt", "le", "gt", "ge", "in", "not_in",
    "is_null", "not_null", "contains", "matches",
]  # fmt: skip
LIST_OPS: Final = frozenset({"in", "not_in"})
_NO_VALUE_OPS: Final = frozenset({"is_null", "not_null"})
STRING_OPS: Final = frozenset({"contains", "matches"})

# Strict scalars: JSON true stays a boolean, 1 stays an integer.
Scalar: TypeAlias = (
    StrictBool | StrictInt | StrictFloat | Annotated[str, Field(max_length=MAX_STRING_CHARS)]
)
ColumnName: TypeAlias = Annotated[str, Field(min_length=1, max_length=MAX_COLUMN_NAME)]


class Condition(BaseModel):
    """One test of one column, e.g. ``{"column": "Price", "op": "gt", "value": 10}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: ColumnName
    op: Op
    value: Scalar | list[Scalar] | None = Field(
        default=None,
        description="One value; a list for in/not_in; nothing for is_null/not_null.",
    )

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        # Checked here, not per column type: this part does not need the schema.
        if self.op in _NO_VALUE_OPS:
            if self.value is not None:
                raise ValueError(f"op '{self.op}' takes no value")
        elif self.op in LIST_OPS:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op '{self.op}' needs a non-empty list of values")
            if len(self.value) > MAX_LIST_VALUES:
                raise ValueError(f"op '{self.op}' takes at most {MAX_LIST_VALUES} values")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' needs exactly one value (not a list)")
        elif self.op in STRING_OPS and not isinstance(self.value, str):
            raise ValueError(f"op '{self.op}' needs a string value")
        return self


class AnyOf(BaseModel):
    """Rows matching at least one of the conditions (OR); conditions do not nest further."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    any_of: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)


class SortKey(BaseModel):
    """One sort column; keys apply in the order given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: ColumnName
    descending: StrictBool = False


FilterItem: TypeAlias = Condition | AnyOf

_FILTERS: Final = TypeAdapter(list[FilterItem])
_SORT: Final = TypeAdapter(list[SortKey])


def validation_problems(exc: ValidationError) -> str:
    """The first few problems pydantic found, as one line for an error message."""
    shown = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"])
        shown.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(shown)


def count_conditions(filters: Sequence[FilterItem]) -> int:
    return sum(len(item.any_of) if isinstance(item, AnyOf) else 1 for item in filters)


def parse_filters(raw: Sequence[FilterItem | dict[str, Any]] | None) -> list[FilterItem]:
    """Models from JSON-like input (already-built models pass through), bounded in number."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidArgumentError("filters must be a list of conditions")
    try:
        items = _FILTERS.validate_python(
            [item.model_dump() if isinstance(item, BaseModel) else item for item in raw]
        )
    except ValidationError as exc:
        raise InvalidArgumentError(
            "invalid filters: "
            f"{validation_problems(exc)}. Each filter is {{'column', 'op', 'value'}} or "
            "{'any_of': [conditions]}"
        ) from None
    if count_conditions(items) > MAX_CONDITIONS:
        raise InvalidArgumentError(f"filters hold at most {MAX_CONDITIONS} conditions in all")
    return items


def parse_sort(raw: Sequence[SortKey | dict[str, Any]] | None) -> list[SortKey]:
    """Sort keys from JSON-like input, at most MAX_SORT_KEYS, each column once."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidArgumentError("sort must be a list of {'column', 'descending'}")
    try:
        keys = _SORT.validate_python(
            [item.model_dump() if isinstance(item, BaseModel) else item for item in raw]
        )
    except ValidationError as exc:
        raise InvalidArgumentError(f"invalid sort: {validation_problems(exc)}") from None
    if len(keys) > MAX_SORT_KEYS:
        raise InvalidArgumentError(f"sort takes at most {MAX_SORT_KEYS} keys")
    names = [key.column for key in keys]
    if len(set(names)) != len(names):
        raise InvalidArgumentError("sort names a column more than once")
    return keys

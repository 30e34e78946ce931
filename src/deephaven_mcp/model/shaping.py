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
    BeforeValidator,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    WithJsonSchema,
    model_validator,
)

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.arguments import ArgumentModel, check_argument, shown_value

__all__ = [
    "LIST_OPS",
    "MAX_COLUMN_NAME",
    "MAX_CONDITIONS",
    "MAX_LIST_VALUES",
    "MAX_SORT_KEYS",
    "MAX_STRING_CHARS",
    "STRING_OPS",
    "AnyOf",
    "CatalogFilters",
    "Condition",
    "FilterItem",
    "FilterValue",
    "Filters",
    "Op",
    "Sort",
    "SortKey",
    "count_conditions",
    "parse_catalog_filters",
    "parse_filters",
    "parse_sort",
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
_NULL_TESTS: Final = {"eq": "is_null", "ne": "not_null"}
_LIST_FORMS: Final = {"eq": "in", "ne": "not_in"}

_SCALAR_WORDS: Final = "a string, a number, or true/false"


def _scalar(value: object) -> object:
    """``value`` if it is one JSON scalar a filter can compare with, else ValueError."""
    if value is None:
        raise ValueError(
            'null is not a value to compare with; use {"op": "is_null"} to find nulls '
            "(inside any_of to combine it with other values)"
        )
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise ValueError(f"takes a string of at most {MAX_STRING_CHARS} characters")
        return value
    if isinstance(value, (bool, int, float)):
        return value
    raise ValueError(f"expected {_SCALAR_WORDS}, not {shown_value(value)}")


def _value_kind(value: object) -> str:
    return "List" if isinstance(value, (list, tuple)) else "Scalar"


_SCALAR_SCHEMA: Final = {"type": ["string", "number", "boolean"]}
# One check per value (no union of types): a bad value gets one message. Tags are upper
# case so error locations skip them: "filters[0].value[1]: null is not ...".
ScalarValue: TypeAlias = Annotated[Any, BeforeValidator(_scalar), WithJsonSchema(_SCALAR_SCHEMA)]
FilterValue: TypeAlias = (
    Annotated[
        Annotated[ScalarValue, Tag("Scalar")] | Annotated[list[ScalarValue], Tag("List")],
        Discriminator(_value_kind),
    ]
    | None
)
"""One JSON scalar (string, number, true/false), a list of them for in/not_in, or nothing."""
ColumnName: TypeAlias = Annotated[str, Field(min_length=1, max_length=MAX_COLUMN_NAME)]


class Condition(ArgumentModel):
    """One test of one column, e.g. ``{"column": "Price", "op": "gt", "value": 10}``."""

    column: ColumnName
    op: Op
    value: FilterValue = Field(
        default=None,
        description="One value; a list for in/not_in; nothing for is_null/not_null.",
    )

    @model_validator(mode="before")
    @classmethod
    def _not_nested(cls, data: object) -> object:
        if isinstance(data, dict) and "any_of" in data:
            raise ValueError("any_of holds plain conditions; it does not nest")
        return data

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        # Checked here, not per column type: this part does not need the schema. The words
        # are the same on the MCP and the Python path (both validate with this model).
        op, value = self.op, self.value
        if op in _NO_VALUE_OPS:
            if value is not None:
                raise ValueError(f"op '{op}' takes no value (leave \"value\" out)")
        elif op in LIST_OPS:
            if not isinstance(value, list) or not value:
                raise ValueError(f"op '{op}' needs a non-empty list of values, e.g. [1, 2]")
            if len(value) > MAX_LIST_VALUES:
                raise ValueError(f"op '{op}' takes at most {MAX_LIST_VALUES} values")
        elif value is None:
            hint = ""
            if op in _NULL_TESTS:
                hint = f'; to test for null use {{"op": "{_NULL_TESTS[op]}"}}'
            raise ValueError(f"op '{op}' needs a value{hint}")
        elif isinstance(value, list):
            hint = f" (op '{_LIST_FORMS[op]}' takes a list)" if op in _LIST_FORMS else ""
            raise ValueError(f"op '{op}' needs exactly one value, not a list{hint}")
        elif op in STRING_OPS and not isinstance(value, str):
            raise ValueError(f"op '{op}' needs a string value")
        return self


class AnyOf(ArgumentModel):
    """Rows matching at least one of the conditions (OR); conditions do not nest further."""

    any_of: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)


def _item_kind(item: object) -> str:
    """Which model an item is meant to be: ``any_of`` names the OR, anything else is a
    condition (so a wrong item gets the condition's problems, not every branch's)."""
    if isinstance(item, AnyOf) or (isinstance(item, dict) and "any_of" in item):
        return "AnyOf"
    return "Condition"


class SortKey(ArgumentModel):
    """One sort column; keys apply in the order given."""

    column: ColumnName
    descending: StrictBool = False


# Tag names start upper case: error locations skip them (see model.arguments._where).
FilterItem: TypeAlias = Annotated[
    Annotated[Condition, Tag("Condition")] | Annotated[AnyOf, Tag("AnyOf")],
    Discriminator(_item_kind),
]
Filters: TypeAlias = Annotated[list[FilterItem], Field(max_length=MAX_CONDITIONS)] | None
"""The ``filters`` argument, one type for the MCP tools and the Python API: a list of
conditions and any_of groups, ANDed; None for none."""


def _catalog_item_kind(item: object) -> str:
    return "Clause" if isinstance(item, str) else _item_kind(item)


CatalogFilters: TypeAlias = (
    Annotated[
        list[
            Annotated[
                Annotated[str, Tag("Clause")]
                | Annotated[Condition, Tag("Condition")]
                | Annotated[AnyOf, Tag("AnyOf")],
                Discriminator(_catalog_item_kind),
            ]
        ],
        Field(max_length=MAX_CONDITIONS),
    ]
    | None
)
"""The catalog tools' ``filters``: structured conditions as in :data:`Filters`, or
where-clause strings (refused in read-only mode), ANDed."""
Sort: TypeAlias = list[SortKey] | None
"""The ``sort`` argument: sort keys in priority order; None for none."""


def count_conditions(filters: Sequence[FilterItem]) -> int:
    """How many conditions count toward the limit: each of an ``any_of`` counts."""
    return sum(len(item.any_of) if isinstance(item, AnyOf) else 1 for item in filters)


def _dumped(raw: object) -> object:
    """Models passed in (the MCP path hands over validated ones) as plain data again, so
    both paths validate the same input."""
    if isinstance(raw, (list, tuple)):
        return [item.model_dump() if isinstance(item, BaseModel) else item for item in raw]
    return raw


def parse_filters(raw: Sequence[FilterItem | dict[str, Any]] | None) -> list[FilterItem]:
    """Models from JSON-like input (already-built models pass through), bounded in number.

    Raises the same InvalidArgumentError, in the same words, as the MCP tools' ``filters``
    argument (both validate :data:`Filters`)."""
    items: list[FilterItem] | None = check_argument("filters", Filters, _dumped(raw))
    if items is None:
        return []
    if count_conditions(items) > MAX_CONDITIONS:
        raise InvalidArgumentError(f"filters hold at most {MAX_CONDITIONS} conditions in all")
    return items


def parse_catalog_filters(
    raw: Sequence[str | FilterItem | dict[str, Any]] | None,
) -> tuple[list[str], list[FilterItem]]:
    """Where-clause strings and structured conditions, validated together (so a problem's
    index is its place in the caller's list) and then split by kind."""
    items: list[str | FilterItem] | None = check_argument("filters", CatalogFilters, _dumped(raw))
    clauses = [item for item in items or [] if isinstance(item, str)]
    if any(not clause.strip() for clause in clauses):
        raise InvalidArgumentError("filters must not contain empty strings")
    structured = [item for item in items or [] if not isinstance(item, str)]
    if count_conditions(structured) + len(clauses) > MAX_CONDITIONS:
        raise InvalidArgumentError(f"filters hold at most {MAX_CONDITIONS} conditions in all")
    return clauses, structured


def parse_sort(raw: Sequence[SortKey | dict[str, Any]] | None) -> list[SortKey]:
    """Sort keys from JSON-like input, at most MAX_SORT_KEYS, each column once."""
    keys: list[SortKey] | None = check_argument("sort", Sort, _dumped(raw))
    if keys is None:
        return []
    if len(keys) > MAX_SORT_KEYS:
        raise InvalidArgumentError(f"sort takes at most {MAX_SORT_KEYS} keys")
    names = [key.column for key in keys]
    if len(set(names)) != len(names):
        raise InvalidArgumentError("sort names a column more than once")
    return keys

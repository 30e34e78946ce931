"""Records inside tool answers: plain JSON-ready dicts at run time, with a typed shape for
the output schema.

Answers carry nested records (sessions, columns, schema entries, ...) as dicts: they are
built once and never validated again. :class:`Shape` lets the result model's field say
what those dicts hold, so the tool's output schema, generated from the model, says it too.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, TypeAlias

from pydantic import BaseModel, Field, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from deephaven_mcp.formatting import FormattedData

Record: TypeAlias = dict[str, Any]
"""A JSON object inside an answer."""


class Shape:
    """Field metadata: the value is documented (JSON Schema) as ``shape``, a type built of
    :class:`pydantic.BaseModel` records, but stays the plain value it was built as."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    @functools.cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.shape)  # built when a schema is first asked for, then kept

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The JSON Schema of ``shape`` in place of the field's own."""
        return handler(self._adapter.core_schema)


def optional(description: str | None = None) -> Any:
    """The default of a record key an answer may leave out; when present it has the
    annotated type (so a key that may also be null is annotated ``X | None``)."""
    if description is None:  # an explicit None would hide a description the type carries
        return Field(default=None)
    return Field(default=None, description=description)


class Column(BaseModel):
    """One column of a table: its name and Deephaven type."""

    name: str
    type: str


Columns: TypeAlias = Annotated[list[dict[str, str]], Shape(list[Column])]
"""The columns of a table, in order: ``{"name", "type"}`` each."""

TableData: TypeAlias = Annotated[
    FormattedData,
    Field(description="Rows in the requested format: text, a list of row objects, or columns."),
]
"""Rows as formatted for the agent."""

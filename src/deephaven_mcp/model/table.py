"""What a table read answers: :class:`TableSlice` and :class:`ShapedSlice`, without pyarrow.

The rows are read and formatted by :mod:`deephaven_mcp.clients.table_data`; tool signatures
and result models need these types at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field, PrivateAttr

from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.records import Columns, TableData

if TYPE_CHECKING:
    from deephaven_mcp.formatting.writer import Formatted

_Slice = TypeVar("_Slice", bound="TableSlice")


class TableSlice(ToolOutput):
    """The formatted rows of one table plus what the agent needs to interpret them.

    This is the answer of ``session_table_data`` (and, with two more fields, of
    ``catalog_table_sample``). Built with ``model_construct``: the rows are already
    JSON-safe, and validating them again would cost as much as formatting. The JSON of
    ``data`` is kept from formatting, so the response never encodes the rows twice.
    """

    table_name: str
    format: str
    # Stored as ``schema_`` (pydantic's BaseModel owns the name ``schema``); read it as
    # ``.schema`` and dumped as "schema", like the tool answer.
    schema_: Columns = Field(alias="schema")
    row_count: int
    is_complete: bool
    data: TableData
    _data_json: str | None = PrivateAttr(default=None)

    @property  # BaseModel.schema is pydantic's deprecated v1 API; this replaces it
    def schema(self) -> list[dict[str, str]]:  # type: ignore[override]
        """The columns: ``{"name", "type"}`` for each, in order."""
        return self.schema_

    def envelope_fields(self) -> dict[str, Any]:
        """Every field, set or not, named and ordered as the model declares them (a
        subclass's own fields follow these), which is the tool answer's order."""
        return {
            field.alias or name: getattr(self, name)
            for name, field in type(self).model_fields.items()
        }

    def encoded_fields(self) -> Mapping[str, str]:
        """``data`` as the JSON made with the rows, if any, so it is not encoded twice."""
        return {} if self._data_json is None else {"data": self._data_json}

    @classmethod
    def of(cls: type[_Slice], formatted: Formatted, **fields: Any) -> _Slice:
        """An answer holding ``formatted`` rows (and their JSON) plus ``fields``."""
        made = cls.model_construct(data=formatted.data, row_count=formatted.row_count, **fields)
        made._data_json = formatted.json
        return made

    def extended(self, cls: type[_Slice], **changes: Any) -> _Slice:
        """This answer as a ``cls`` (a subclass adding fields), with ``changes`` applied."""
        made = cls.model_construct(**{**dict(self), **changes})
        made._data_json = self._data_json
        return made


class ShapedSlice(TableSlice):
    """A :class:`TableSlice` with what a pager needs: the answer of ``session_table_data``.

    ``total_rows`` counts the rows after filtering; ``next_offset`` is the ``offset`` of the
    next page (None at the end); ``snapshot_time`` is when the rows were read (UTC).
    """

    total_rows: Annotated[int, Field(description="Rows after filtering (before paging).")]
    next_offset: Annotated[
        int | None,
        Field(description="offset of the next page; null when this page reaches the end."),
    ]
    is_refreshing: Annotated[bool, Field(description="True for a ticking (live) table.")]
    snapshot_time: Annotated[str, Field(description="When the rows were read, ISO-8601 UTC.")]

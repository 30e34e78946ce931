"""What a table read answers: :class:`TableSlice` and :class:`ShapedSlice`, without pyarrow.

The rows are read and formatted by :mod:`deephaven_mcp.clients.table_data`; tool signatures
and result models need these types at start-up. Every answer with rows is an
:class:`ArrowRows`: in the Python API it also holds the rows as read (``to_arrow()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field, PrivateAttr

from deephaven_mcp.errors import DependencyMissingError
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.records import Columns, TableData

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa

    from deephaven_mcp.formatting.writer import Formatted

_Slice = TypeVar("_Slice", bound="TableSlice")

NO_ARROW_ROWS = (
    "this result was built without its Arrow rows (a DeephavenSystems made with "
    "keep_arrow=False, as the MCP server's is); read them with DeephavenSystems.read_arrow"
)


class ArrowRows(ToolOutput):
    """A tool answer holding table rows, which the Python API also keeps as read.

    The rows are a private attribute: never in ``model_dump()``, the tool's structured
    content or :meth:`envelope_fields`.
    """

    _arrow: pa.Table | None = PrivateAttr(default=None)

    def to_arrow(self) -> pa.Table:
        """Exactly the rows this answer describes, as pydeephaven's ``to_arrow()`` gives
        them (Deephaven types and field metadata included).

        Raises:
            RuntimeError: the answer was made without them (``keep_arrow=False``).
        """
        if self._arrow is None:
            raise RuntimeError(NO_ARROW_ROWS)
        return self._arrow

    def to_pandas(self) -> pd.DataFrame:
        """``to_arrow().to_pandas()``.

        Raises:
            DependencyMissingError: pandas is not installed.
            RuntimeError: as :meth:`to_arrow`.
        """
        try:
            import pandas  # noqa: F401  # pyarrow needs it; fail with the fix instead
        except ImportError:
            raise DependencyMissingError(
                "to_pandas() needs pandas, which is not installed: pip install pandas"
            ) from None
        return self.to_arrow().to_pandas()


class TableSlice(ArrowRows):
    """The formatted rows of one table plus what the agent needs to interpret them.

    This is the answer of ``session_table_data`` (and, with two more fields, of
    ``catalog_table_sample``). Built with ``model_construct``: the rows are already
    JSON-safe, and validating them again would cost as much as formatting. The JSON of
    ``data`` is kept from formatting, so the response never encodes the rows twice; the
    rows themselves only when the reader was asked to keep them (see :class:`ArrowRows`).
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
        """An answer holding ``formatted`` rows (their JSON, and their Arrow if kept) plus
        ``fields``."""
        made = cls.model_construct(data=formatted.data, row_count=formatted.row_count, **fields)
        made._data_json = formatted.json
        made._arrow = formatted.arrow
        return made

    def extended(self, cls: type[_Slice], **changes: Any) -> _Slice:
        """This answer as a ``cls`` (a subclass adding fields), with ``changes`` applied."""
        made = cls.model_construct(**{**dict(self), **changes})
        made._data_json = self._data_json
        made._arrow = self._arrow
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

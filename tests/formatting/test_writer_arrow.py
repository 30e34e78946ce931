"""Writers that keep the Arrow windows they are given (the Python API's ``to_arrow()``)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from deephaven_mcp.formatting.spec import EXPLICIT_FORMATS
from deephaven_mcp.formatting.writer import ARROW, table_writer, write_table

SCHEMA = pa.schema(
    [
        pa.field("X", pa.int64(), metadata={"deephaven:type": "long"}),
        pa.field("S", pa.string(), metadata={"deephaven:type": "java.lang.String"}),
    ],
    metadata={"deephaven:attribute.AppendOnly": "true"},
)
WINDOWS = [
    pa.table({"X": [1, None, 3], "S": ["a", None, "ü"]}, schema=SCHEMA),
    pa.table({"X": [4], "S": ["d"]}, schema=SCHEMA),
    pa.table({"X": [5, 6], "S": ["e", "f"]}, schema=SCHEMA),
]


@pytest.mark.parametrize("fmt", sorted(EXPLICIT_FORMATS))
def test_keeping_changes_nothing_written(fmt: str) -> None:
    plain, keeping = table_writer(SCHEMA, fmt), table_writer(SCHEMA, fmt, keep_arrow=True)
    for window in WINDOWS:
        plain.add(window)
        keeping.add(window)
        assert keeping.size == plain.size and keeping.row_count == plain.row_count
    written, kept = plain.finish(), keeping.finish()
    assert (kept.data, kept.json, kept.row_count) == (written.data, written.json, 6)
    assert written.arrow is None
    assert kept.arrow is not None
    assert kept.arrow.equals(pa.concat_tables(WINDOWS), check_metadata=True)
    assert kept.arrow.schema.field("X").metadata == {b"deephaven:type": b"long"}


def test_arrow_alone_is_measured_by_its_bytes() -> None:
    writer = table_writer(SCHEMA, ARROW)
    assert writer.size == 0
    for count, window in enumerate(WINDOWS, 1):
        writer.add(window)
        assert writer.size == sum(item.nbytes for item in WINDOWS[:count])
    done = writer.finish()
    assert done.row_count == 6 and done.data == ""
    assert done.arrow is not None and done.arrow.to_pydict() == {
        "X": [1, None, 3, 4, 5, 6],
        "S": ["a", None, "ü", "d", "e", "f"],
    }


def test_no_rows_keep_the_schema() -> None:
    done = table_writer(SCHEMA, ARROW).finish()
    assert done.arrow is not None and done.arrow.num_rows == 0
    assert done.arrow.schema.equals(SCHEMA, check_metadata=True)
    one = write_table(SCHEMA.empty_table(), "csv", keep_arrow=True)
    assert one.arrow is not None and one.arrow.schema.equals(SCHEMA, check_metadata=True)

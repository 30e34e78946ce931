"""Writing window by window gives the one-shot answer exactly, and its JSON is exact too."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pydantic_core
import pytest

from deephaven_mcp.formatting import EXPLICIT_FORMATS, format_table
from deephaven_mcp.formatting.writer import table_writer, write_table
from tests.formatting.awkward import awkward_table
from tests.formatting.test_formats import realistic_table


def windows(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    edges = [0, *cuts, table.num_rows]
    return [table.slice(start, stop - start) for start, stop in itertools.pairwise(edges)]


SPLITS = [[], [1], [3, 4], [1, 2, 3, 4, 5, 6], [0, 0, 7]]


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
@pytest.mark.parametrize("cuts", SPLITS)
def test_windows_join_into_the_whole_answer(fmt: str, cuts: list[int]) -> None:
    table = awkward_table()
    writer = table_writer(table.schema, fmt)
    for window in windows(table, cuts):
        writer.add(window)
        # The running size is the size the answer would have if it ended here.
        so_far = table.slice(0, writer.row_count)
        assert writer.size == len(pydantic_core.to_json(format_table(so_far, fmt)))
    done = writer.finish()
    assert done.data == format_table(table, fmt)
    assert done.json == pydantic_core.to_json(done.data).decode()
    assert done.row_count == table.num_rows


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_edge_tables_encode_exactly(fmt: str) -> None:
    table = awkward_table()
    for edge in (table.slice(0, 0), table.select([]), table.slice(0, 0).select([])):
        writer = table_writer(edge.schema, fmt)
        writer.add(edge)
        size = writer.size
        written = writer.finish()
        assert written.data == format_table(edge, fmt)
        assert written.json == pydantic_core.to_json(written.data).decode()
        assert size == written.size == len(written.json.encode())
        assert write_table(edge, fmt) == written


def test_markdown_kv_numbers_records_across_windows() -> None:
    table = realistic_table(5)
    writer = table_writer(table.schema, "markdown-kv")
    for window in windows(table, [2, 3]):
        writer.add(window)
    text = writer.finish().data
    assert isinstance(text, str)
    assert [line for line in text.split("\n") if line.startswith("## ")] == [
        f"## Record {n}" for n in range(1, 6)
    ]


def test_repeated_column_names_keep_the_dict_semantics() -> None:
    table = pa.table([pa.array([1, 2]), pa.array(["a", "b"])], names=["X", "X"])
    writer = table_writer(table.schema, "json-column")
    for window in windows(table, [1]):
        writer.add(window)
    done = writer.finish()
    assert done.data == {"X": ["a", "b"]}
    assert done.json == pydantic_core.to_json(done.data).decode()


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_larger_tables_split_anywhere(fmt: str) -> None:
    table = realistic_table(3_000)
    writer = table_writer(table.schema, fmt)
    for window in windows(table, [1_000, 1_001, 2_500]):
        writer.add(window)
    done = writer.finish()
    assert done.data == format_table(table, fmt)
    assert done.json == pydantic_core.to_json(done.data).decode()

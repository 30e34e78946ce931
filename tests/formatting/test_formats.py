"""Format names, the JSON formats, sizes and estimates, and the edge tables every format takes."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.formatting import (
    EXPLICIT_FORMATS,
    STRATEGIES,
    describe_schema,
    estimate_bytes_per_row,
    format_table,
    formatted_size,
    resolve_format,
)
from tests.formatting.awkward import (
    AWKWARD_SCHEMA,
    EXPECTED_JSON_ROWS,
    EXPECTED_JSON_VALUES,
    awkward_table,
    char_field,
)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("optimize-rendering", "markdown-table"),
        ("optimize-accuracy", "markdown-kv"),
        ("optimize-cost", "csv"),
        ("optimize-speed", "json-column"),
        *[(fmt, fmt) for fmt in EXPLICIT_FORMATS],
    ],
)
def test_resolve_format_maps_all_eleven_names(requested: str, expected: str) -> None:
    assert resolve_format(requested) == expected


@pytest.mark.parametrize("requested", ["", "json", "CSV", "optimize-everything", " csv"])
def test_resolve_format_rejects_other_names_and_lists_the_choices(requested: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        resolve_format(requested)
    message = str(raised.value)
    for name in [*STRATEGIES, *EXPLICIT_FORMATS]:
        assert name in message
    assert len(message) < 300


def test_every_strategy_names_a_concrete_format() -> None:
    assert set(STRATEGIES.values()) <= set(EXPLICIT_FORMATS)
    assert len(EXPLICIT_FORMATS) == 7


def test_format_table_accepts_a_strategy_name() -> None:
    table = awkward_table()
    assert format_table(table, "optimize-cost") == format_table(table, "csv")


def test_format_table_rejects_an_unknown_format() -> None:
    with pytest.raises(InvalidArgumentError):
        format_table(awkward_table(), "html")


def test_describe_schema_gives_names_and_arrow_types() -> None:
    schema = pa.schema(
        [
            pa.field("Price", pa.float64()),
            pa.field("When", pa.timestamp("ns", tz="UTC")),
            char_field("Letter"),
            pa.field("Tags", pa.list_(pa.string())),
        ]
    )
    assert describe_schema(schema) == [
        {"name": "Price", "type": "double"},
        {"name": "When", "type": "timestamp[ns, tz=UTC]"},
        {"name": "Letter", "type": "uint16"},
        {"name": "Tags", "type": "list<item: string>"},
    ]


def strict_json_round_trip(data: object) -> object:
    return json.loads(json.dumps(data, ensure_ascii=False, allow_nan=False))


def test_json_row_gives_one_object_per_row() -> None:
    data = format_table(awkward_table(), "json-row")
    assert strict_json_round_trip(data) == EXPECTED_JSON_ROWS


def test_json_column_gives_one_list_per_column() -> None:
    data = format_table(awkward_table(), "json-column")
    assert strict_json_round_trip(data) == EXPECTED_JSON_VALUES
    assert isinstance(data, dict)
    assert list(data) == list(EXPECTED_JSON_VALUES)


def test_multi_chunk_and_sliced_tables_format_like_contiguous_ones() -> None:
    table = awkward_table()
    chunked = pa.concat_tables([table.slice(0, 4), table.slice(4, 3), table.slice(7)])
    assert chunked.column(0).num_chunks == 3
    for fmt in EXPLICIT_FORMATS:
        assert format_table(chunked, fmt) == format_table(table, fmt)
    assert format_table(table.slice(3, 2), "json-row") == EXPECTED_JSON_ROWS[3:5]


EMPTY_OUTPUT = {
    "json-row": [],
    "json-column": {name: [] for name in AWKWARD_SCHEMA.names},
    "csv": "Text,Count,Value,Flag,When,Letter,Tags",
    "markdown-table": (
        "| Text | Count | Value | Flag | When | Letter | Tags |\n"
        "| --- | --- | --- | --- | --- | --- | --- |"
    ),
    "markdown-kv": "",
    "yaml": "[]",
    "xml": "<table>\n</table>",
}


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_empty_table_keeps_its_columns_where_the_format_can(fmt: str) -> None:
    assert format_table(awkward_table().slice(0, 0), fmt) == EMPTY_OUTPUT[fmt]


ZERO_COLUMN_OUTPUT = {
    "json-row": [{}, {}],
    "json-column": {},
    "csv": "",
    "markdown-table": "",
    "markdown-kv": "## Record 1\n\n## Record 2",
    "yaml": "- {}\n- {}",
    "xml": "<table>\n<row></row>\n<row></row>\n</table>",
}


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_table_without_columns_works(fmt: str) -> None:
    two_rows_no_columns = awkward_table().slice(0, 2).select([])
    assert two_rows_no_columns.num_rows == 2
    assert format_table(two_rows_no_columns, fmt) == ZERO_COLUMN_OUTPUT[fmt]


NO_ROWS_NO_COLUMNS_OUTPUT = {
    "json-row": [],
    "json-column": {},
    "csv": "",
    "markdown-table": "",
    "markdown-kv": "",
    "yaml": "[]",
    "xml": "<table>\n</table>",
}


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_table_without_rows_or_columns_works(fmt: str) -> None:
    nothing = awkward_table().slice(0, 0).select([])
    assert format_table(nothing, fmt) == NO_ROWS_NO_COLUMNS_OUTPUT[fmt]


def test_formatted_size_counts_utf8_bytes_of_the_json_encoding() -> None:
    assert formatted_size("é\n") == len('"é\\n"'.encode())
    assert formatted_size({"a": [1, None]}) == len(b'{"a": [1, null]}')
    assert formatted_size([{"k": "😀"}]) == len('[{"k": "😀"}]'.encode())


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_formatted_size_matches_the_real_encoding_of_each_format(fmt: str) -> None:
    data = format_table(awkward_table(), fmt)
    assert formatted_size(data) == len(json.dumps(data, ensure_ascii=False).encode("utf-8"))


def realistic_table(rows: int, seed: int = 3) -> pa.Table:
    rng = random.Random(seed)
    symbols = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "Zoë & Co", "北京"]
    return pa.table(
        {
            "Id": pa.array(range(rows), pa.int64()),
            "Price": pa.array([rng.uniform(1, 1000) if i % 50 else None for i in range(rows)]),
            "Sym": pa.array([rng.choice(symbols) for _ in range(rows)]),
            "Note": pa.array(["x" * rng.randint(0, 60) for _ in range(rows)]),
            "When": pa.array(
                [1_704_205_800_000_000_000 + i * 1_000_000_007 for i in range(rows)],
                pa.timestamp("ns", tz="UTC"),
            ),
            "Flag": pa.array([i % 3 == 0 for i in range(rows)]),
        }
    )


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_estimate_from_a_sample_predicts_the_full_size(fmt: str) -> None:
    table = realistic_table(10_000)
    per_row = estimate_bytes_per_row(table.slice(0, 1_000), fmt)
    actual = formatted_size(format_table(table, fmt))
    assert 0.9 < per_row * table.num_rows / actual < 1.1


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_estimate_from_an_empty_sample_uses_the_schema(fmt: str) -> None:
    table = realistic_table(1_000)
    per_row = estimate_bytes_per_row(table.slice(0, 0), fmt)
    actual_per_row = formatted_size(format_table(table, fmt)) / table.num_rows
    assert 0.5 < per_row / actual_per_row < 2.5


@pytest.mark.parametrize("fmt", ["optimize-cost", *EXPLICIT_FORMATS])
def test_estimate_is_positive_even_without_columns(fmt: str) -> None:
    no_columns = realistic_table(5).select([])
    assert estimate_bytes_per_row(no_columns, fmt) >= 1.0
    assert estimate_bytes_per_row(no_columns.slice(0, 0), fmt) >= 1.0


def test_estimate_of_awkward_empty_schema_covers_every_type() -> None:
    schema = pa.schema(
        [
            char_field("Letter"),
            pa.field("D", pa.decimal128(12, 3)),
            pa.field("Day", pa.date32()),
            pa.field("T", pa.time64("ns")),
            pa.field("Span", pa.duration("ns")),
            pa.field("Bytes", pa.binary()),
            pa.field("F", pa.float32()),
        ]
    )
    estimates = [estimate_bytes_per_row(schema.empty_table(), fmt) for fmt in EXPLICIT_FORMATS]
    assert all(estimate > 10 for estimate in estimates)

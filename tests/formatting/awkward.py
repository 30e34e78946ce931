"""A small table full of values that trip up formatters, and what every format must make of it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

CHAR_METADATA = {b"deephaven:type": b"char"}
_NS_2024_03_01_NOON = 1_709_294_400_000_000_000


def char_field(name: str) -> pa.Field:
    """A Deephaven ``char`` column as it arrives over Arrow: uint16 with type metadata."""
    return pa.field(name, pa.uint16(), metadata=CHAR_METADATA)


TEXTS = [
    "plain",
    None,
    "a|b",
    "line1\nline2",
    'say "hi", ok',
    "<&>",
    "ünï¢ødé ✓ 李雷 😀",
    "",
    "cr\r\nlf\rend",
    "back\\slash|",
]
COUNTS = [1, None, 2**62, -1, 0, 6, 7, 8, 9, 10]
VALUES = [1.5, None, float("nan"), float("inf"), float("-inf"), 0.0, -2.25, 1e300, 1e-05, 0.1]
FLAGS = [True, None, False, True, False, True, None, False, True, False]
WHEN_NS = [
    _NS_2024_03_01_NOON,
    None,
    _NS_2024_03_01_NOON + 123_000_000,
    _NS_2024_03_01_NOON + 123_456_789,
    _NS_2024_03_01_NOON + 1,
    _NS_2024_03_01_NOON + 120_000,
    0,
    _NS_2024_03_01_NOON,
    _NS_2024_03_01_NOON,
    _NS_2024_03_01_NOON,
]
LETTERS = [ord("A"), None, ord("é"), ord("|"), ord('"'), ord("<"), ord("李"), ord(" "), 0x41, 0x42]
TAGS = [["a", "b"], None, [], [None, "x,y"], ["q"], ["<"], ["😀"], [""], ["l\nm"], []]

AWKWARD_SCHEMA = pa.schema(
    [
        pa.field("Text", pa.string()),
        pa.field("Count", pa.int64()),
        pa.field("Value", pa.float64()),
        pa.field("Flag", pa.bool_()),
        pa.field("When", pa.timestamp("ns", tz="UTC")),
        char_field("Letter"),
        pa.field("Tags", pa.list_(pa.string())),
    ]
)


def awkward_table() -> pa.Table:
    """Ten rows: nulls in every column, NaN/inf, unicode, markup and delimiter characters."""
    return pa.Table.from_arrays(
        [
            pa.array(TEXTS, pa.string()),
            pa.array(COUNTS, pa.int64()),
            pa.array(VALUES, pa.float64()),
            pa.array(FLAGS, pa.bool_()),
            pa.array(WHEN_NS, pa.timestamp("ns", tz="UTC")),
            pa.array(LETTERS, pa.uint16()),
            pa.array(TAGS, pa.list_(pa.string())),
        ],
        schema=AWKWARD_SCHEMA,
    )


EXPECTED_WHEN = [
    "2024-03-01T12:00:00Z",
    None,
    "2024-03-01T12:00:00.123Z",
    "2024-03-01T12:00:00.123456789Z",
    "2024-03-01T12:00:00.000000001Z",
    "2024-03-01T12:00:00.000120Z",
    "1970-01-01T00:00:00Z",
    "2024-03-01T12:00:00Z",
    "2024-03-01T12:00:00Z",
    "2024-03-01T12:00:00Z",
]
EXPECTED_JSON_VALUES: dict[str, list[Any]] = {
    "Text": TEXTS,
    "Count": COUNTS,
    "Value": [1.5, None, "NaN", "Infinity", "-Infinity", 0.0, -2.25, 1e300, 1e-05, 0.1],
    "Flag": FLAGS,
    "When": EXPECTED_WHEN,
    "Letter": ["A", None, "é", "|", '"', "<", "李", " ", "A", "B"],
    "Tags": TAGS,
}
EXPECTED_JSON_ROWS: list[dict[str, Any]] = [
    dict(zip(EXPECTED_JSON_VALUES, row, strict=True))
    for row in zip(*EXPECTED_JSON_VALUES.values(), strict=True)
]
# The text each cell has in csv, markdown and xml (None where the cell is null).
EXPECTED_CELL_TEXT: dict[str, list[str | None]] = {
    "Text": TEXTS,
    "Count": ["1", None, "4611686018427387904", "-1", "0", "6", "7", "8", "9", "10"],
    # Arrow's shortest round-trip spelling: 0.0 reads "0" and 1e-05 reads "0.00001".
    "Value": [
        "1.5",
        None,
        "NaN",
        "Infinity",
        "-Infinity",
        "0",
        "-2.25",
        "1e+300",
        "0.00001",
        "0.1",
    ],
    "Flag": ["true", None, "false", "true", "false", "true", None, "false", "true", "false"],
    "When": EXPECTED_WHEN,
    "Letter": ["A", None, "é", "|", '"', "<", "李", " ", "A", "B"],
    "Tags": [
        '["a", "b"]',
        None,
        "[]",
        '[null, "x,y"]',
        '["q"]',
        '["<"]',
        '["😀"]',
        '[""]',
        '["l\\nm"]',
        "[]",
    ],
}
EXPECTED_TEXT_ROWS: list[list[str | None]] = [
    list(row) for row in zip(*EXPECTED_CELL_TEXT.values(), strict=True)
]

"""The structured shaping models and their translation, without a worker (no Java)."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from deephaven_mcp.clients.shaping import (
    _helper_formulas,
    check_columns,
    nanos_column,
    nanos_formula,
    structured_filter,
)
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.shaping import (
    MAX_CONDITIONS,
    MAX_LIST_VALUES,
    MAX_SORT_KEYS,
    MAX_STRING_CHARS,
    AnyOf,
    Condition,
    SortKey,
    parse_filters,
    parse_sort,
)
from tests._nulls import NULL_MARKERS, marker_refusal

SCHEMA = pa.schema(
    [
        ("I", pa.int32()),
        ("L", pa.int64()),
        ("D", pa.float64()),
        ("S", pa.string()),
        ("B", pa.bool_()),
        ("T", pa.timestamp("ns", tz="UTC")),
        ("C", pa.uint16()),  # Deephaven char
        ("Y", pa.int8()),
        ("H", pa.int16()),
        ("F", pa.float32()),
        ("A", pa.list_(pa.int32())),
    ]
)

VALID: list[tuple[dict[str, Any], str]] = [
    ({"column": "I", "op": "eq", "value": 3}, "compare"),
    ({"column": "L", "op": "ne", "value": -1}, "compare"),
    ({"column": "D", "op": "lt", "value": 1.5}, "compare"),
    ({"column": "D", "op": "le", "value": 2}, "compare"),
    ({"column": "T", "op": "gt", "value": "2024-03-01T12:00:00Z"}, "compare"),
    ({"column": "I", "op": "ge", "value": 2.0}, "compare"),
    ({"column": "S", "op": "in", "value": ["a", "ünï"]}, "in"),
    ({"column": "B", "op": "not_in", "value": [True]}, "not"),
    ({"column": "A", "op": "is_null"}, "is_null"),
    ({"column": "S", "op": "not_null"}, "not"),
    ({"column": "S", "op": "contains", "value": "b"}, "contains"),
    ({"column": "S", "op": "matches", "value": "a.*"}, "matches"),
    ({"column": "D", "op": "eq", "value": "NaN"}, "compare"),
    ({"column": "D", "op": "in", "value": [1.5, "Infinity", "nan"]}, "or"),
    ({"column": "B", "op": "eq", "value": False}, "compare"),
    ({"column": "S", "op": "eq", "value": "ünï"}, "in"),
    ({"column": "S", "op": "ne", "value": "x"}, "not"),
]


def _kind(filters: list[Any]) -> str:
    condition = structured_filter(SCHEMA, parse_filters(filters))
    assert condition is not None
    return str(condition.make_grpc_message().WhichOneof("data"))


@pytest.mark.parametrize(("condition", "kind"), VALID)
def test_every_op_translates(condition: dict[str, Any], kind: str) -> None:
    assert _kind([condition]) == kind


def test_items_are_anded_and_any_of_is_ored() -> None:
    assert structured_filter(SCHEMA, []) is None
    one = {"column": "I", "op": "eq", "value": 1}
    assert _kind([one, {"column": "S", "op": "eq", "value": "x"}]) == "and"
    assert _kind([{"any_of": [one, {"column": "I", "op": "is_null"}]}]) == "or"
    assert _kind([{"any_of": [one]}]) == "compare"


def test_models_pass_through_and_are_frozen() -> None:
    cond = Condition(column="I", op="eq", value=1)
    items = parse_filters([cond, AnyOf(any_of=[cond])])
    assert items == [cond, AnyOf(any_of=[cond])]
    with pytest.raises(ValidationError):
        cond.op = "ne"


def test_timestamps_are_exact_nanoseconds_and_default_to_utc() -> None:
    def nanos(value: str) -> int:
        condition = structured_filter(
            SCHEMA, parse_filters([{"column": "T", "op": "eq", "value": value}])
        )
        assert condition is not None
        return int(condition.make_grpc_message().compare.rhs.literal.long_value)

    base = 1_709_294_400_000_000_000  # 2024-03-01T12:00:00Z
    assert nanos("2024-03-01T12:00:00Z") == base
    assert nanos("2024-03-01T12:00:00") == base
    assert nanos("2024-03-01T13:00:00+01:00") == base
    assert nanos("2024-03-01T12:00:00.000001Z") == base + 1_000


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"column": "I", "op": "is_null", "value": 1}, "takes no value"),
        ({"column": "I", "op": "eq"}, "needs a value; to test for null use .*is_null"),
        ({"column": "I", "op": "eq", "value": [1]}, "exactly one value"),
        ({"column": "I", "op": "in", "value": 1}, "non-empty list"),
        ({"column": "I", "op": "in", "value": []}, "non-empty list"),
        ({"column": "S", "op": "contains", "value": 1}, "string value"),
        ({"column": "S", "op": "like", "value": "x"}, "op"),
        ({"column": "S", "op": "eq", "value": "x", "extra": 1}, "extra"),
        ({"column": "", "op": "is_null"}, "column"),
        ({"column": "S", "op": "eq", "value": {"a": 1}}, "value"),
        ({"any_of": []}, "any_of"),
        ({"any_of": [{"any_of": [{"column": "I", "op": "is_null"}]}]}, "any_of"),
    ],
)
def test_malformed_conditions_are_refused(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_filters([condition])


def test_filters_must_be_a_list() -> None:
    with pytest.raises(InvalidArgumentError, match="list"):
        parse_filters("I = 1")  # type: ignore[arg-type]
    assert parse_filters(None) == []


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"column": "I", "op": "eq", "value": "5"}, "column 'I' of type int32: expected a whole"),
        ({"column": "I", "op": "eq", "value": 1.5}, "whole number"),
        ({"column": "I", "op": "eq", "value": True}, "column 'I' of type int32"),
        ({"column": "D", "op": "eq", "value": "1.5"}, "column 'D' of type double"),
        ({"column": "D", "op": "eq", "value": False}, "expected a number"),
        ({"column": "S", "op": "eq", "value": 1}, "column 'S' of type string"),
        ({"column": "B", "op": "eq", "value": 1}, "expected true or false"),
        ({"column": "B", "op": "in", "value": [True, "yes"]}, "expected true or false"),
        ({"column": "T", "op": "eq", "value": "yesterday"}, "ISO-8601"),
        ({"column": "T", "op": "eq", "value": 1_709_294_400}, "ISO-8601"),
        ({"column": "C", "op": "eq", "value": "x"}, "only is_null and not_null"),
        ({"column": "A", "op": "eq", "value": 1}, "only is_null and not_null"),
        ({"column": "I", "op": "contains", "value": "1"}, "string columns"),
        ({"column": "T", "op": "matches", "value": "2024.*"}, "string columns"),
        ({"column": "S", "op": "lt", "value": "b"}, "does not order"),
        ({"column": "B", "op": "ge", "value": True}, "does not order"),
        ({"column": "D", "op": "gt", "value": "NaN"}, "unordered"),
        (
            {"column": "Nope", "op": "is_null"},
            "unknown column 'Nope'.*I, L, D, S, B, T, C, Y, H, F, A",
        ),
    ],
)
def test_values_are_typed_by_the_column(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        structured_filter(SCHEMA, parse_filters([condition]))


def test_bounds() -> None:
    one = {"column": "I", "op": "is_null"}
    parse_filters([one] * MAX_CONDITIONS)
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_CONDITIONS}"):
        parse_filters([one] * (MAX_CONDITIONS + 1))
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_CONDITIONS}"):
        parse_filters([one, {"any_of": [one] * MAX_CONDITIONS}])  # counted inside any_of
    values = list(range(MAX_LIST_VALUES + 1))
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_LIST_VALUES}"):
        parse_filters([{"column": "I", "op": "in", "value": values}])
    long = "x" * (MAX_STRING_CHARS + 1)
    with pytest.raises(InvalidArgumentError, match="value"):
        parse_filters([{"column": "S", "op": "eq", "value": long}])


def test_unknown_column_message_is_bounded() -> None:
    wide = pa.schema([(f"Column{i}", pa.int32()) for i in range(500)])
    with pytest.raises(InvalidArgumentError) as caught:
        check_columns(wide, ["Column1", "Missing"])
    message = str(caught.value)
    assert "unknown column 'Missing'" in message and "(500 columns)" in message
    assert len(message) < 1_000


def test_columns() -> None:
    assert check_columns(SCHEMA, ["S", "I"]) == ["S", "I"]
    for bad, message in (([], "non-empty"), (["I", "I"], "more than once"), (["x"], "unknown")):
        with pytest.raises(InvalidArgumentError, match=message):
            check_columns(SCHEMA, bad)


def test_sort_keys() -> None:
    keys = parse_sort([{"column": "I", "descending": True}, {"column": "S"}])
    assert keys == [SortKey(column="I", descending=True), SortKey(column="S")]
    assert parse_sort(None) == []
    with pytest.raises(InvalidArgumentError, match="more than once"):
        parse_sort([{"column": "I"}, {"column": "I", "descending": True}])
    with pytest.raises(InvalidArgumentError, match="invalid argument sort"):
        parse_sort([{"column": "I", "descending": "yes"}])
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_SORT_KEYS}"):
        parse_sort([{"column": f"C{i}"} for i in range(MAX_SORT_KEYS + 1)])


def _literal(condition: dict[str, Any]) -> Any:
    found = structured_filter(SCHEMA, parse_filters([condition]))
    assert found is not None
    return found.make_grpc_message()


def test_timestamps_keep_nine_fractional_digits() -> None:
    def nanos(value: str) -> int:
        message = _literal({"column": "T", "op": "eq", "value": value})
        return int(message.compare.rhs.literal.long_value)

    base = 1_709_294_400_000_000_000  # 2024-03-01T12:00:00Z
    assert nanos("2024-03-01T12:00:00.706000988Z") == base + 706_000_988
    assert nanos("2024-03-01T12:00:00.000000001") == base + 1
    assert nanos("2024-03-01T14:00:00.123456789+02:00") == base + 123_456_789
    assert nanos("2024-03-01T11:00:00.5-01:00") == base + 500_000_000
    assert nanos("2024-03-01 12:00:00.12345678z") == base + 123_456_780
    assert nanos("2024-03-01") == base - 12 * 3_600_000_000_000
    assert nanos("1969-12-31T23:59:59.999999999Z") == -1
    for bad in ("2024-03-01T12:00:00.1234567891Z", "2024-03-01T25:00:00Z", "noon", "2024-03-01T"):
        with pytest.raises(InvalidArgumentError, match="ISO-8601"):
            _literal({"column": "T", "op": "eq", "value": bad})


@pytest.mark.parametrize(("column", "marker", "name"), NULL_MARKERS)
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"])
def test_null_markers_are_refused(column: str, marker: float, name: str, op: str) -> None:
    value: Any = [1, marker] if op in ("in", "not_in") else marker
    message = marker_refusal(column, marker, name)
    with pytest.raises(InvalidArgumentError) as caught:
        structured_filter(SCHEMA, parse_filters([{"column": column, "op": op, "value": value}]))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("I", 3_000_000_000, "out of range for int (-2147483647..2147483647)"),
        ("I", -3_000_000_000, "out of range for int"),
        ("I", 3e9, "out of range for int"),
        ("Y", 300, "out of range for byte (-127..127)"),
        ("Y", -129, "out of range for byte"),
        ("H", 32768, "out of range for short (-32767..32767)"),
        ("L", 2**63, "out of range for long"),
        ("F", 1e39, "out of range for float"),
        ("F", -1e39, "out of range for float"),
        ("D", 10**400, "out of range for double"),
    ],
)
def test_values_out_of_the_column_range_are_refused(column: str, value: Any, message: str) -> None:
    for op in ("eq", "gt", "in"):
        item = {"column": column, "op": op, "value": [value] if op == "in" else value}
        with pytest.raises(InvalidArgumentError, match=re.escape(message)):
            structured_filter(SCHEMA, parse_filters([item]))


def test_range_edges_are_accepted() -> None:
    for column, value in (
        ("Y", -127),
        ("Y", 127),
        ("H", -32767),
        ("I", 2147483647),
        ("L", -9223372036854775807),
        ("F", 3.4028234663852886e38),
        ("F", -3.4e38),
        ("D", 1.7976931348623157e308),
        ("D", -1.7e308),
        ("F", "-Infinity"),
    ):
        assert _literal({"column": column, "op": "eq", "value": value}) is not None


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
@pytest.mark.parametrize("value", ["Infinity", "-Infinity"])
def test_order_against_infinity_avoids_the_range_filter(op: str, value: str) -> None:
    text = str(_literal({"column": "D", "op": op, "value": value}))
    assert "LESS" not in text and "GREATER" not in text


def test_a_string_encoded_java_type_takes_only_null_tests() -> None:
    """Deephaven sends a LocalDateTime column as Arrow strings; comparing it with a string
    fails in the engine, so it is refused here, like other types without a literal."""
    local = pa.field("LDT", pa.string(), metadata={"deephaven:type": "java.time.LocalDateTime"})
    text = pa.field("S", pa.string(), metadata={"deephaven:type": "java.lang.String"})
    schema = pa.schema([local, text])
    with pytest.raises(InvalidArgumentError, match="only is_null and not_null"):
        structured_filter(schema, parse_filters([{"column": "LDT", "op": "eq", "value": "x"}]))
    with pytest.raises(InvalidArgumentError, match="string columns"):
        structured_filter(
            schema, parse_filters([{"column": "LDT", "op": "contains", "value": "2024"}])
        )
    assert structured_filter(schema, parse_filters([{"column": "LDT", "op": "is_null"}]))
    assert structured_filter(schema, parse_filters([{"column": "S", "op": "eq", "value": "x"}]))


# -- timestamps compare a long view of the column (epoch nanoseconds) --------------------------

INSTANT_MARKER = "1677-09-21T00:12:43.145224192Z"  # Long.MIN_VALUE nanoseconds


def test_timestamps_compare_the_helper_column_as_long_nanoseconds() -> None:
    """The engine reads a small Instant literal as seconds/millis/micros, so every
    timestamp value is a long compared with the epoch nanoseconds on a helper column."""
    helper = nanos_column(SCHEMA, "T")
    assert helper == "__dh_mcp_nanos_5"
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        message = _literal({"column": "T", "op": op, "value": "1970-01-01T00:00:00.000028532Z"})
        compare = message.compare
        assert compare.lhs.reference.column_name == helper, op
        assert compare.rhs.literal.long_value == 28_532, op
        assert compare.rhs.literal.WhichOneof("value") == "long_value"
    listed = _literal(
        {
            "column": "T",
            "op": "in",
            "value": ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z"],
        }
    )
    text = str(listed)
    assert f'column_name: "{helper}"' in text and "long_value: -1" in text
    assert "nano_time_value" not in text
    negated = str(_literal({"column": "T", "op": "not_in", "value": ["1970-01-01T00:00:00Z"]}))
    assert f'column_name: "{helper}"' in negated and "nano_time_value" not in negated
    # Null tests look at the column itself.
    assert 'column_name: "T"' in str(_literal({"column": "T", "op": "is_null"}))


def test_the_helper_name_is_fresh_and_one_per_timestamp_column() -> None:
    schema = pa.schema(
        [
            ("__dh_mcp_nanos_1", pa.int64()),
            ("A", pa.timestamp("ns", tz="UTC")),
            ("__dh_mcp_nanos_1_", pa.int64()),
            ("B", pa.timestamp("ns", tz="UTC")),
            ("S", pa.string()),
        ]
    )
    assert nanos_column(schema, "A") == "__dh_mcp_nanos_1__"
    assert nanos_column(schema, "B") == "__dh_mcp_nanos_3"
    filters = parse_filters(
        [
            {"column": "S", "op": "eq", "value": "x"},
            {"column": "B", "op": "is_null"},
            {"any_of": [{"column": "B", "op": "gt", "value": "2024-01-01"}]},
            {"column": "A", "op": "in", "value": ["2024-01-01"]},
            {"column": "A", "op": "lt", "value": "2024-01-01"},
        ]
    )
    assert _helper_formulas(schema, filters) == {
        "__dh_mcp_nanos_3": nanos_formula("__dh_mcp_nanos_3", "B"),
        "__dh_mcp_nanos_1__": nanos_formula("__dh_mcp_nanos_1__", "A"),
    }
    assert _helper_formulas(schema, parse_filters([{"column": "A", "op": "not_null"}])) == {}
    with pytest.raises(InvalidArgumentError, match="unknown column"):
        nanos_column(schema, "Z")
    odd = pa.schema([("a b", pa.timestamp("ns", tz="UTC"))])
    with pytest.raises(InvalidArgumentError, match="not an identifier"):
        structured_filter(
            odd, parse_filters([{"column": "a b", "op": "eq", "value": "2024-01-01"}])
        )


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"])
def test_the_instant_null_marker_is_refused(op: str) -> None:
    for marker in (INSTANT_MARKER, "1677-09-21T02:12:43.145224192+02:00"):
        value: Any = ["2024-01-01", marker] if op in ("in", "not_in") else marker
        with pytest.raises(InvalidArgumentError) as caught:
            structured_filter(SCHEMA, parse_filters([{"column": "T", "op": op, "value": value}]))
        assert str(caught.value).startswith(
            f"filter value {marker!r} on column 'T' (Instant) is Deephaven's null marker for "
            'Instant; use {"op": "is_null"} to find nulls'
        )


def test_instants_outside_the_long_range_are_refused_and_its_edges_accepted() -> None:
    for value in ("1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775808Z", "9999-12-31"):
        with pytest.raises(InvalidArgumentError) as caught:
            _literal({"column": "T", "op": "eq", "value": value})
        assert str(caught.value) == (
            f"filter value {value!r} on column 'T' is out of range for Instant "
            "(1677-09-21T00:12:43.145224193Z..2262-04-11T23:47:16.854775807Z)"
        )
    low = _literal({"column": "T", "op": "eq", "value": "1677-09-21T00:12:43.145224193Z"})
    assert low.compare.rhs.literal.long_value == -(2**63) + 1
    high = _literal({"column": "T", "op": "eq", "value": "2262-04-11T23:47:16.854775807Z"})
    assert high.compare.rhs.literal.long_value == 2**63 - 1


def test_the_helper_formula_is_written_from_schema_names() -> None:
    assert nanos_formula("__dh_mcp_nanos_5", "T") == (
        "__dh_mcp_nanos_5 = isNull(T) ? (long) null : T.getEpochSecond() * 1000000000L + T.getNano()"
    )
    with pytest.raises(InvalidArgumentError, match="not an identifier"):
        nanos_formula("__dh_mcp_nanos_5", "T) + (1")


def test_a_floating_order_comparison_gets_an_exact_helper_except_at_zero() -> None:
    """The engine's range filter rounds its value to about 16 decimal places: non-zero
    finite values compare in a formula with the value's exact text."""
    schema = pa.schema([("D", pa.float64()), ("F", pa.float32()), ("I", pa.int32())])
    filters = parse_filters(
        [
            {"column": "D", "op": "le", "value": -3.641955793401245e-29},
            {"column": "F", "op": "gt", "value": 0.1},
            {"column": "D", "op": "lt", "value": 0},  # zero: the range filter is exact
            {"column": "D", "op": "ge", "value": "-Infinity"},  # infinities: rewritten
            {"column": "D", "op": "eq", "value": 1e-20},  # eq/in: the match filter is exact
            {"column": "I", "op": "lt", "value": 5},
        ]
    )
    helpers = _helper_formulas(schema, filters)
    assert list(helpers.values()) == [
        "__dh_mcp_order_le_0_ba07156940000000 = isNull(D) ? true : D <= -3.641955793401245e-29",
        "__dh_mcp_order_gt_1_3fb99999a0000000 = isNull(F) ? false : F > ((float) 0.10000000149011612)",
    ]
    assert structured_filter(schema, filters) is not None

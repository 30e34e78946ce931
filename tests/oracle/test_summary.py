"""session_table_summary: every field of every column against the oracle, with the NaN rule
(NaN propagates unless skip_nan) and the overflow rule (null plus a note)."""

from __future__ import annotations

from typing import Any, Final

import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydeephaven import Session

from tests.mcp_systems_server._helpers import ToolCaller
from tests.oracle._gen import (
    COLUMNS,
    FLOAT_COLUMNS,
    NUMERIC_COLUMNS,
    Drawn,
    Published,
    publish,
    tables,
)
from tests.oracle._model import (
    Stat,
    cell_json,
    count_distinct,
    drop_nulls,
    numeric_stat,
    ordered_extreme,
    sort_value,
)
from tests.oracle.conftest import SESSION_ID, oracle_settings

pytestmark = pytest.mark.integration

TABLE = "oracle_summary"
TYPES: Final = {
    "Id": "int",
    "B8": "byte",
    "S16": "short",
    "I32": "int",
    "L64": "long",
    "F32": "float",
    "F64": "double",
    "Bool": "java.lang.Boolean",
    "Ch": "char",
    "Str": "java.lang.String",
    "Ts": "java.time.Instant",
    "Day": "java.time.LocalDate",
}
KINDS: Final = {
    **dict.fromkeys(("Id", *NUMERIC_COLUMNS), "numeric"),
    "Bool": "boolean",
    "Ch": "string",
    "Str": "string",
    "Ts": "temporal",
    "Day": "temporal",
}


def top_values(column: str, values: list[Any], top_k: int) -> list[dict[str, Any]]:
    """Most frequent non-null values, ties in the engine's value order."""
    counts: dict[Any, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], sort_value(column, item[0])))
    return [{"value": cell_json(column, v), "count": n} for v, n in ranked[:top_k]]


def expected_entry(table: Published, column: str, top_k: int, skip_nan: bool) -> dict[str, Stat]:
    values = table.columns[column]
    arrow = table.arrow.column(column)
    found: dict[str, Stat] = {
        "name": Stat(column),
        "type": Stat(TYPES[column]),
        "kind": Stat(KINDS[column]),
        "null_count": Stat(arrow.null_count),  # pyarrow counts the nulls
    }
    if column in FLOAT_COLUMNS:
        found["nan_count"] = Stat(pc.sum(pc.is_nan(arrow)).as_py() or 0)
    kind = KINDS[column]
    if kind == "numeric":
        floating = column in FLOAT_COLUMNS
        present = drop_nulls(values, skip_nan=skip_nan)
        single = column == "F32"
        for name, op in (("min", "min"), ("max", "max"), ("mean", "avg"), ("std", "std")):
            found[name] = numeric_stat(op, present, floating=floating, single=single)
    else:
        for op in ("min", "max"):
            found[op] = Stat(ordered_extreme(op, column, values))
    if kind in ("string", "boolean"):
        distinct = count_distinct(column, values)
        found["distinct_count"] = Stat(distinct)
        found["distinct_count_capped"] = Stat(False)
        if top_k:
            found["top_values"] = Stat(top_values(column, values, top_k))
    return found


@oracle_settings(ci_examples=15)
@given(drawn=tables(), data=st.data())
async def test_summary_matches_the_oracle(
    tools: ToolCaller, pydh: Session, drawn: Drawn, data: st.DataObject
) -> None:
    table = publish(pydh, TABLE, drawn)
    problems = []
    for skip_nan in (None, True):
        top_k = data.draw(st.integers(0, 4), label="top_k")
        request: dict[str, Any] = {"top_k": top_k}
        if skip_nan is not None:
            request["skip_nan"] = skip_nan
        answer = await tools.call(
            "session_table_summary", session_id=SESSION_ID, table_name=TABLE, **request
        )
        if answer["success"] is not True:
            problems.append(f"{request}: tool error {answer['error']}")
            continue
        assert answer["row_count"] == table.num_rows
        assert answer["column_count"] == len(COLUMNS) and answer["is_complete"] is True
        assert [entry["name"] for entry in answer["columns"]] == list(COLUMNS)
        for entry in answer["columns"]:
            expected = expected_entry(table, entry["name"], top_k, bool(skip_nan))
            notes = entry.get("notes") or []
            if set(entry) - {"notes"} != set(expected):
                problems.append(f"{request} {entry['name']}: fields {sorted(entry)}")
            for key, stat in expected.items():
                if not stat.accepts(entry.get(key), notes):
                    present = [v for v in table.columns[entry["name"]] if v is not None]
                    problems.append(
                        f"{request} {entry['name']}.{key}: tool {entry.get(key)!r} "
                        f"oracle {stat!r} notes {notes} values {present}"
                    )
    assert not problems, "\n".join(problems)

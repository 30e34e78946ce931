"""session_table_aggregate: every op, with and without group_by and time buckets of any
width, with and without skip_nan, against the oracle. Groups are compared by key (and their
order: first appearance) since the request leaves them unsorted."""

from __future__ import annotations

from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydeephaven import Session

from tests.mcp_systems_server._helpers import ToolCaller
from tests.oracle._gen import COLUMNS, FLOAT_COLUMNS, NANOS, NUMERIC_COLUMNS, Drawn, publish, tables
from tests.oracle._model import (
    Stat,
    cell_json,
    count_distinct,
    drop_nulls,
    iso_nanos,
    numeric_stat,
    ordered_extreme,
)
from tests.oracle._queries import Draw
from tests.oracle.conftest import SESSION_ID, oracle_settings

pytestmark = pytest.mark.integration

TABLE = "oracle_aggregate"
QUERIES_PER_TABLE = 4
KEY_COLUMNS: Final = ("B8", "S16", "I32", "L64", "Bool", "Ch", "Str", "Day")
ANY_COLUMN: Final = tuple(name for name in COLUMNS if name != "Id")
ORDERED: Final = (*NUMERIC_COLUMNS, "Bool", "Ch", "Str", "Ts", "Day")
UNITS: Final = {"s": NANOS, "m": 60 * NANOS, "h": 3600 * NANOS, "d": 86400 * NANOS}


@st.composite
def aggregations(draw: Draw) -> list[dict[str, Any]]:
    pairs: list[tuple[str, str | None]] = [("count", None)]
    pairs += [("count", c) for c in ANY_COLUMN]
    pairs += [(op, c) for op in ("sum", "avg", "std", "var", "median") for c in NUMERIC_COLUMNS]
    pairs += [(op, c) for op in ("min", "max") for c in ORDERED]
    pairs += [(op, c) for op in ("first", "last", "count_distinct") for c in ANY_COLUMN]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=8, unique=True))
    return [
        {"op": op, **({"column": column} if column else {}), "as": f"A{index}"}
        for index, (op, column) in enumerate(chosen)
    ]


@st.composite
def group_bys(draw: Draw) -> list[Any]:
    keys: list[Any] = draw(st.lists(st.sampled_from(KEY_COLUMNS), max_size=2, unique=True))
    if draw(st.booleans()):
        width = f"{draw(st.integers(1, 90))}{draw(st.sampled_from(sorted(UNITS)))}"
        keys.append({"column": "Ts", "bin": width, "as": "Bucket"})
    return keys


def bucket_start(nanos: int | None, width: str) -> int | None:
    if nanos is None:
        return None
    step = int(width[:-1]) * UNITS[width[-1]]
    return (nanos // step) * step  # floor, also before 1970


def expected_value(op: str, column: str | None, rows: list[dict[str, Any]], skip_nan: bool) -> Stat:
    if column is None:
        return Stat(len(rows))
    values = [row[column] for row in rows]
    if op in ("first", "last"):  # the first or last row's value, nulls included
        value = values[0 if op == "first" else -1]
        if skip_nan and drop_nulls([value], skip_nan=True) == []:
            value = None  # skip_nan: NaN is null for every statistic
        return Stat(cell_json(column, value))
    present = drop_nulls(values, skip_nan=skip_nan)
    if op == "count":
        return Stat(len(present))
    if op == "count_distinct":
        return Stat(count_distinct(column, present))
    if column in NUMERIC_COLUMNS:
        return numeric_stat(op, present, floating=column in FLOAT_COLUMNS, single=column == "F32")
    return Stat(ordered_extreme(op, column, values))


@oracle_settings(ci_examples=12)
@given(drawn=tables(extreme_instants=False), data=st.data())
async def test_aggregate_matches_the_oracle(
    tools: ToolCaller, pydh: Session, drawn: Drawn, data: st.DataObject
) -> None:
    table = publish(pydh, TABLE, drawn)
    rows = [table.row(i) for i in range(table.num_rows)]
    problems = []
    for _ in range(QUERIES_PER_TABLE):
        group_by = data.draw(group_bys(), label="group_by")
        aggs = data.draw(aggregations(), label="aggregations")
        skip_nan = data.draw(st.sampled_from([None, False, True]), label="skip_nan")
        request: dict[str, Any] = {"group_by": group_by, "aggregations": aggs}
        if skip_nan is not None:
            request["skip_nan"] = skip_nan
        answer = await tools.call(
            "session_table_aggregate",
            session_id=SESSION_ID,
            table_name=TABLE,
            max_rows=None,
            format="json-row",
            **request,
        )
        if answer["success"] is not True:
            problems.append(f"{request}: tool error {answer['error']}")
            continue
        notes = answer.get("notes") or []
        # The oracle's groups, in order of first appearance.
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in rows:
            key: list[Any] = []
            for item in group_by:
                if isinstance(item, dict):
                    start = bucket_start(row["Ts"], item["bin"])
                    key.append(None if start is None else iso_nanos(start))
                else:
                    key.append(cell_json(item, row[item]))
            groups.setdefault(tuple(key), []).append(row)
        if not group_by:
            if not rows:
                continue  # one row or none? test_edges holds that finding apart
            groups = {(): rows}
        names = [item["as"] if isinstance(item, dict) else item for item in group_by]
        got_keys = [tuple(item[name] for name in names) for item in answer["data"]]
        if got_keys != list(groups):
            problems.append(f"{request}: groups {got_keys} instead of {list(groups)}")
            continue
        if answer["source_rows"] != len(rows):
            problems.append(f"{request}: source_rows {answer['source_rows']} != {len(rows)}")
        for item, shown, members in zip(answer["data"], got_keys, groups.values(), strict=True):
            for agg in aggs:
                stat = expected_value(agg["op"], agg.get("column"), members, bool(skip_nan))
                got = item[agg["as"]]
                if not stat.accepts(got, notes):
                    column = agg.get("column")
                    values = [row[column] for row in members] if column else len(members)
                    problems.append(
                        f"{request}: group {dict(zip(names, shown, strict=True))} "
                        f"{agg}: tool {got!r} oracle {stat!r} notes {notes} values {values}"
                    )
    assert not problems, "\n".join(problems)

"""``to_arrow()``/``to_pandas()`` of the Python API's answers with rows, on a real worker.

Each answer's Arrow must be what pydeephaven's own ``to_arrow()`` gives for the same rows:
same values (NaN, -0.0 and nulls told apart), same types, same field metadata. The MCP
server's instance keeps no rows: its answers and tools/list do not change.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config import McpConfig
from deephaven_mcp.errors import DependencyMissingError
from deephaven_mcp.systems import results
from tests._workers import RunningWorker
from tests.enterprise.conftest import PASSWORD
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config

SESSION = "community:config:anon"
TABLE = "arrow_types"
SETUP_TABLES = (TABLE,)
ROWS = 30_000  # more than the largest first window (10,000 rows): several windows
# The null constants are spelled in full: other tests import deephaven.constants into the
# shared worker's globals, and a Python NULL_INT there would shadow the formula's own.
SETUP = f"""
from deephaven import empty_table
{TABLE} = empty_table({ROWS}).update([
    "Id = i",
    "I = i % 7 == 0 ? io.deephaven.util.QueryConstants.NULL_INT : i - 15000",
    "L = (long) i * 1_000_000_007L",
    "D = i % 5 == 0 ? Double.NaN : (i % 5 == 1 ? -0.0 : (i % 5 == 2 ? io.deephaven.util.QueryConstants.NULL_DOUBLE : i / 3.0))",
    "F = i % 4 == 0 ? Float.NaN : (i % 4 == 1 ? io.deephaven.util.QueryConstants.NULL_FLOAT : (float) (i / 7.0))",
    "S = i % 3 == 0 ? null : `s` + i",
    "T = i % 6 == 0 ? null : '2024-01-01T00:00:00 UTC' + i * SECOND + i",
    "LD = i % 8 == 0 ? null : java.time.LocalDate.ofEpochDay(i % 20000)",
    "B = i % 3 == 0 ? io.deephaven.util.QueryConstants.NULL_BOOLEAN : i % 2 == 0",
    "C = i % 9 == 0 ? io.deephaven.util.QueryConstants.NULL_CHAR : (char) (65 + i % 26)",
    "Y = i % 10 == 0 ? io.deephaven.util.QueryConstants.NULL_BYTE : (byte) (i % 100)",
    "Sh = i % 11 == 0 ? io.deephaven.util.QueryConstants.NULL_SHORT : (short) (i % 1000)",
])
"""


def config(worker: RunningWorker) -> dict[str, Any]:
    return {"community": {"sessions": {"anon": session_config(worker)}}}


@pytest.fixture(scope="module")
async def systems(pydh: Session, dh_worker: RunningWorker) -> AsyncIterator[DeephavenSystems]:
    async with DeephavenSystems(config=McpConfig.model_validate(config(dh_worker))) as found:
        yield found


def reference(pydh: Session, cut: Any) -> pa.Table:
    """pydeephaven's ``to_arrow()`` of ``cut(table)``."""
    source = pydh.open_table(TABLE)
    made: Table = cut(source)
    try:
        return made.to_arrow()
    finally:
        made.close()
        source.close()


def exact(values: pa.ChunkedArray) -> list[str]:
    """Each value as its repr: NaN, -0.0, None and nanoseconds all told apart."""
    return [repr(value) for value in values.to_pylist()]


def fields(table: pa.Table) -> pa.Schema:
    """The columns with their types and metadata, without the schema's own metadata (the
    table attributes, e.g. ``AppendOnly``, which depend on the worker operation that cut
    the rows, not on the rows)."""
    return pa.schema(list(table.schema))


def assert_same(found: pa.Table, expected: pa.Table) -> None:
    """Same rows, same types, same field metadata (the columns are compared value by
    value, as ``Table.equals`` calls NaN unequal to itself)."""
    assert fields(found).equals(fields(expected), check_metadata=True), (
        found.schema,
        expected.schema,
    )
    for field, wanted in zip(found.schema, expected.schema, strict=True):
        assert field.metadata == wanted.metadata and field.metadata, field.name
    assert found.num_rows == expected.num_rows
    for name in expected.column_names:
        assert exact(found.column(name)) == exact(expected.column(name)), name


def test_the_table_holds_every_kind_of_value(pydh: Session) -> None:
    whole = reference(pydh, lambda t: t.head(40))
    doubles = exact(whole.column("D"))
    assert {"nan", "-0.0", "None"} <= set(doubles)
    assert "None" in exact(whole.column("T")) and "None" in exact(whole.column("LD"))
    assert [field.metadata[b"deephaven:type"] for field in whole.schema][6:] == [
        b"java.time.Instant",
        b"java.time.LocalDate",
        b"java.lang.Boolean",
        b"char",
        b"byte",
        b"short",
    ]


@pytest.mark.parametrize("fmt", ["csv", "json-row", "json-column", "markdown-kv"])
async def test_a_small_page_is_pydeephavens_head(
    systems: DeephavenSystems, pydh: Session, fmt: str
) -> None:
    page = await systems.session_table_data(SESSION, TABLE, max_rows=50, format=fmt)
    assert page.row_count == 50
    assert_same(page.to_arrow(), reference(pydh, lambda t: t.head(50)))


async def test_a_multi_window_read_is_pydeephavens_table(
    systems: DeephavenSystems, pydh: Session
) -> None:
    page = await systems.session_table_data(SESSION, TABLE, max_rows=None, format="csv")
    assert page.row_count == ROWS and page.is_complete
    found = page.to_arrow()
    assert found.column(0).num_chunks > 1  # read in several windows
    assert_same(found, reference(pydh, lambda t: t.head(ROWS)))


async def test_offset_tail_filters_and_sort(systems: DeephavenSystems, pydh: Session) -> None:
    page = await systems.session_table_data(
        SESSION, TABLE, max_rows=12_000, offset=1_500, format="json-column"
    )
    assert page.to_arrow().column(0).num_chunks > 1
    assert_same(page.to_arrow(), reference(pydh, lambda t: t.slice(1_500, 13_500)))

    tail = await systems.session_table_data(
        SESSION, TABLE, max_rows=11_000, head=False, offset=700, format="csv"
    )
    assert_same(tail.to_arrow(), reference(pydh, lambda t: t.slice(-11_700, -700)))

    shaped = await systems.session_table_data(
        SESSION,
        TABLE,
        columns=["Id", "D", "S", "T"],
        filters=[{"column": "Id", "op": "lt", "value": 20_000}],
        sort=[{"column": "Id", "descending": True}],
        max_rows=15_000,
        offset=100,
        format="csv",
    )
    expected = reference(
        pydh,
        lambda t: (
            t.view(["Id", "D", "S", "T"])
            .where("Id < 20000")
            .sort_descending("Id")
            .slice(100, 15_100)
        ),
    )
    assert_same(shaped.to_arrow(), expected)
    assert shaped.to_arrow().column("Id")[0].as_py() == 19_899


async def test_past_the_end_is_empty_with_the_schema(
    systems: DeephavenSystems, pydh: Session
) -> None:
    page = await systems.session_table_data(SESSION, TABLE, offset=ROWS + 5, max_rows=10)
    found = page.to_arrow()
    assert found.num_rows == 0
    expected = reference(pydh, lambda t: t.head(0))
    for field, wanted in zip(found.schema, expected.schema, strict=True):
        assert field.equals(wanted, check_metadata=True), field.name


async def test_an_aggregation_is_the_engines(systems: DeephavenSystems, pydh: Session) -> None:
    found = await systems.session_table_aggregate(
        SESSION,
        TABLE,
        aggregations=[{"op": "count", "as": "N"}, {"op": "max", "column": "L", "as": "MaxL"}],
        group_by=["Y"],
        sort=[{"column": "Y"}],
        max_rows=40,
        offset=3,
        format="json-row",
    )
    assert found.row_count == 40
    arrow = found.to_arrow()
    assert arrow.column_names == ["Y", "N", "MaxL"]

    from pydeephaven import agg

    expected = reference(
        pydh,
        lambda t: (
            t.agg_by([agg.count_("N"), agg.max_(["MaxL = L"])], by=["Y"]).sort("Y").slice(3, 43)
        ),
    )
    assert exact(arrow.column("Y")) == exact(expected.column("Y"))
    assert exact(arrow.column("N")) == exact(expected.column("N"))
    assert exact(arrow.column("MaxL")) == exact(expected.column("MaxL"))
    assert arrow.schema.field("MaxL").metadata[b"deephaven:type"] == b"long"
    assert arrow.schema.field("N").type == expected.schema.field("N").type


async def test_to_pandas_is_to_arrows(systems: DeephavenSystems) -> None:
    page = await systems.session_table_data(SESSION, TABLE, max_rows=20)
    frame = page.to_pandas()
    assert frame.equals(page.to_arrow().to_pandas())
    assert list(frame.columns) == page.to_arrow().column_names and len(frame) == 20


async def test_to_pandas_without_pandas_says_how_to_install_it(
    systems: DeephavenSystems, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = await systems.session_table_data(SESSION, TABLE, max_rows=3)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(DependencyMissingError, match="pip install pandas"):
        page.to_pandas()


async def test_the_rows_are_in_no_dump_or_envelope(systems: DeephavenSystems) -> None:
    page = await systems.session_table_data(SESSION, TABLE, max_rows=5, format="json-row")
    dumped = page.model_dump()
    declared = (set(type(page).model_fields) - {"schema_"}) | {"schema"}
    assert set(dumped) == set(page.envelope_fields()) == declared
    assert not any(isinstance(value, pa.Table) for value in dumped.values())
    assert "pyarrow" not in page.model_dump_json()
    assert page.to_arrow().num_rows == 5


async def test_without_keep_arrow_to_arrow_points_to_read_arrow(
    pydh: Session, dh_worker: RunningWorker
) -> None:
    parsed = McpConfig.model_validate(config(dh_worker))
    async with DeephavenSystems(config=parsed, keep_arrow=False) as lean:
        page = await lean.session_table_data(SESSION, TABLE, max_rows=5)
        aggregated = await lean.session_table_aggregate(
            SESSION, TABLE, aggregations=[{"op": "count", "as": "N"}]
        )
        for answer in (page, aggregated):
            with pytest.raises(RuntimeError, match=r"DeephavenSystems\.read_arrow"):
                answer.to_arrow()
            with pytest.raises(RuntimeError, match="keep_arrow=False"):
                answer.to_pandas()
        assert page.row_count == 5


def test_a_catalog_listing_keeps_rows_only_when_asked() -> None:
    listing = results.CatalogListing(
        session_id="enterprise:prod:w",
        format="csv",
        row_count=0,
        is_complete=True,
        columns=[],
        data="",
    )
    with pytest.raises(RuntimeError, match="read_arrow"):
        listing.to_arrow()


async def test_the_servers_answers_are_unchanged(
    systems: DeephavenSystems,
    dh_worker: RunningWorker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server's instance keeps nothing, lists no new tool, and answers with the Python
    API's envelope."""
    made: list[DeephavenSystems] = []
    build = DeephavenSystems.__init__

    def recorded(self: DeephavenSystems, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(DeephavenSystems, "__init__", recorded)
    caller: ToolCaller
    async with mcp_tools(tmp_path / "deephaven_mcp.json", config(dh_worker)) as caller:
        names = {tool.name for tool in await caller.client.list_tools()}
        answer = await caller.ok(
            "session_table_data", session_id=SESSION, table_name=TABLE, max_rows=7, format="csv"
        )
    assert [instance.keep_arrow for instance in made] == [False]
    assert "session_table_data" in names and not any("arrow" in name for name in names)
    page = await systems.session_table_data(SESSION, TABLE, max_rows=7, format="csv")
    fields = page.envelope_fields()
    expected = {"success": True, **{k: v for k, v in fields.items() if k != "snapshot_time"}}
    assert {k: v for k, v in answer.items() if k != "snapshot_time"} == expected


@pytest.fixture(scope="module")
def fake(dh_worker: RunningWorker) -> Iterator[FakeEnterpriseBackend]:
    """The in-process Core+ fake, its catalog published on the test worker."""
    gc.collect()
    backend = FakeEnterpriseBackend(dh_worker.host, dh_worker.port, transition_delay=0.1)
    yield backend
    gc.collect()
    backend.close()


async def test_catalog_answers_are_pydeephavens_rows(
    fake: FakeEnterpriseBackend, pydh: Session
) -> None:
    system = {
        "connection_json_url": "https://enterprise.test/iris/connection.json",
        "auth_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "session_creation": {"max_concurrent_sessions": 1},
    }
    parsed = McpConfig.model_validate({"enterprise": {"systems": {"prod": system}}})
    async with DeephavenSystems(config=parsed, enterprise_backend=fake) as ent:
        await ent.session_enterprise_create("prod", "arrows")
        sid = "enterprise:prod:arrows"
        try:
            listed = await ent.catalog_tables_list(sid, format="csv")
            names = await ent.catalog_namespaces_list(sid, max_rows=2)
            sample = await ent.catalog_table_sample(
                sid, "MarketUS", "Trades", max_rows=30, head=False, format="json-row"
            )
        finally:
            await ent.session_enterprise_delete("prod", "arrows")
    catalog = listed.to_arrow()
    assert catalog.num_rows == listed.row_count > 0
    assert {"MarketUS"} <= set(catalog.column("Namespace").to_pylist())
    assert catalog.schema.field("Namespace").metadata[b"deephaven:type"] == b"java.lang.String"
    assert names.to_arrow().num_rows == 2 and names.to_arrow().column_names == ["Namespace"]
    rows = sample.to_arrow()
    assert rows.num_rows == 30
    assert rows.column("Seq").to_pylist() == list(range(220, 250))
    assert [field.metadata[b"deephaven:type"] for field in rows.schema][-1] in (b"long", b"int")

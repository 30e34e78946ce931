"""Catalog tools on an enterprise session, against real tables in the test worker."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from pydeephaven import DHError

from deephaven_mcp.enterprise import EnterpriseCatalog, EnterpriseSystem
from deephaven_mcp.enterprise.errors import EnterpriseOperationError
from deephaven_mcp.errors import InvalidArgumentError, NotFoundError
from deephaven_mcp.formatting import FormattedData, JsonValue
from tests.enterprise.catalog_data import CATALOG_ROWS
from tests.enterprise.fake_backend import FakeEnterpriseBackend


@pytest.fixture
async def catalog(system: EnterpriseSystem) -> EnterpriseCatalog:
    await system.create_session("explorer")
    return await system.catalog("explorer")


def seq(data: FormattedData) -> list[JsonValue]:
    """The Seq column of a sample in the default (json-column) format."""
    assert isinstance(data, dict), data
    return data["Seq"]


def pairs(rows: dict[str, list[object]]) -> list[tuple[object, object]]:
    return list(zip(rows["Namespace"], rows["TableName"], strict=True))


async def test_tables_all_and_bounded(catalog: EnterpriseCatalog) -> None:
    everything = await catalog.tables()
    assert everything.is_complete
    assert pairs(everything.table.to_pydict()) == [(ns, tn) for ns, tn, _ in CATALOG_ROWS]
    assert everything.table.column_names == ["Namespace", "TableName", "NamespaceSet"]
    first = await catalog.tables(max_rows=3)
    assert first.table.num_rows == 3 and not first.is_complete
    exact = await catalog.tables(max_rows=len(CATALOG_ROWS))
    assert exact.is_complete
    unbounded = await catalog.tables(max_rows=None)
    assert unbounded.table.num_rows == len(CATALOG_ROWS) and unbounded.is_complete


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            ["Namespace = `MarketUS`"],
            [("MarketUS", "Trades"), ("MarketUS", "Quotes"), ("MarketUS", "LiveTicks")],
        ),
        (["Namespace = `MarketUS`", "TableName.startsWith(`T`)"], [("MarketUS", "Trades")]),
        (
            ["TableName.toLowerCase().contains(`trade`)"],
            [("MarketUS", "Trades"), ("MarketEU", "Trades")],
        ),
        (
            ["Namespace not in `MarketUS`, `MarketEU`, `Staging`"],
            [("Internal", "AuditLog"), ("TestData", "Scratch")],
        ),
        (
            ["TableName.matches(`.*o.*`)"],
            [("MarketUS", "Quotes"), ("Internal", "AuditLog"), ("Staging", "Ghost")],
        ),
        (["NamespaceSet = `System`"], [("Internal", "AuditLog")]),
    ],
)
async def test_where_clause_filters(
    catalog: EnterpriseCatalog, filters: list[str], expected: list[tuple[str, str]]
) -> None:
    result = await catalog.tables(filters=filters)
    assert pairs(result.table.to_pydict()) == expected


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system('touch {marker}')",
        "Namespace = `x`\"])\nimport os\nos.system('touch {marker}')\nprint([\"",
        "Namespace = `x`); import os; os.system(`touch {marker}`); (`",
        "new java.io.File(`{marker}`).createNewFile()",
    ],
)
async def test_malicious_filters_are_rejected_not_executed(
    catalog: EnterpriseCatalog, system: EnterpriseSystem, tmp_path: Path, template: str
) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(InvalidArgumentError, match="rejected the catalog filters"):
        await catalog.tables(filters=[template.format(marker=marker)])
    assert not marker.exists()  # the worker runs on this machine: nothing was executed
    assert (await catalog.tables(max_rows=1)).table.num_rows == 1  # the session still works


async def test_filter_argument_validation(catalog: EnterpriseCatalog) -> None:
    with pytest.raises(InvalidArgumentError, match="list"):
        # a str is a Sequence[str] to mypy, so only the run-time check stops it
        await catalog.tables(filters="Namespace = `MarketUS`")
    with pytest.raises(InvalidArgumentError, match="empty"):
        await catalog.tables(filters=["  "])
    with pytest.raises(InvalidArgumentError):
        await catalog.tables(max_rows=0)
    with pytest.raises(InvalidArgumentError, match="backticks"):
        await catalog.tables(filters=["Namespace = MarketUS"])  # an unknown column name


async def test_namespaces(catalog: EnterpriseCatalog) -> None:
    result = await catalog.namespaces()
    assert result.table.column_names == ["Namespace"]
    assert result.table.column("Namespace").to_pylist() == sorted({ns for ns, _, _ in CATALOG_ROWS})
    assert result.is_complete
    bounded = await catalog.namespaces(max_rows=2)
    assert bounded.table.column("Namespace").to_pylist() == ["Internal", "MarketEU"]
    assert not bounded.is_complete
    filtered = await catalog.namespaces(filters=["TableName = `Trades`"])
    assert filtered.table.column("Namespace").to_pylist() == ["MarketEU", "MarketUS"]


async def test_schemas_of_a_namespace(catalog: EnterpriseCatalog) -> None:
    result = await catalog.schemas(namespace="MarketUS")
    assert result.is_complete
    by_table = {schema.table_name: schema for schema in result.schemas}
    assert set(by_table) == {"Trades", "Quotes", "LiveTicks"}
    trades = by_table["Trades"]
    assert trades.success and trades.namespace == "MarketUS"
    assert trades.meta is not None
    meta = trades.meta.to_pydict()
    assert meta["Name"] == ["Date", "Sym", "Price", "Seq"]
    assert {"Name", "DataType", "IsPartitioning"} <= set(meta)
    assert dict(zip(meta["Name"], meta["DataType"], strict=True))["Price"] == "double"
    assert by_table["LiveTicks"].success  # only a live table: found through the fallback


async def test_schemas_report_missing_tables_individually(catalog: EnterpriseCatalog) -> None:
    result = await catalog.schemas(table_names=["Trades", "Ghost", "DoesNotExist"])
    outcome = {(s.namespace, s.table_name): (s.success, s.error) for s in result.schemas}
    assert outcome[("MarketUS", "Trades")] == (True, None)
    assert outcome[("MarketEU", "Trades")] == (True, None)
    assert outcome[("Staging", "Ghost")][0] is False
    assert "neither a historical nor a live table" in str(outcome[("Staging", "Ghost")][1])
    assert outcome[("", "DoesNotExist")] == (False, "Table not found in catalog")


async def test_schemas_bounded_and_filtered(catalog: EnterpriseCatalog) -> None:
    bounded = await catalog.schemas(max_tables=2)
    assert len(bounded.schemas) == 2 and not bounded.is_complete
    filtered = await catalog.schemas(filters=["NamespaceSet = `System`"])
    assert [(s.namespace, s.table_name) for s in filtered.schemas] == [("Internal", "AuditLog")]


async def test_namespace_and_names_are_never_parsed(catalog: EnterpriseCatalog) -> None:
    sneaky = await catalog.schemas(namespace="MarketUS` || true || `")
    assert sneaky.schemas == () and sneaky.is_complete
    names = await catalog.schemas(table_names=["Trades` || true || `"])
    assert [s.error for s in names.schemas] == ["Table not found in catalog"]


async def test_sample_head_and_tail(catalog: EnterpriseCatalog) -> None:
    head = await catalog.sample("MarketUS", "Trades", max_rows=5)
    assert head.source == "historical" and not head.is_complete
    assert seq(head.slice.data) == [0, 1, 2, 3, 4]
    tail = await catalog.sample("MarketUS", "Trades", max_rows=5, head=False)
    assert seq(tail.slice.data) == [245, 246, 247, 248, 249]
    whole = await catalog.sample("MarketUS", "Trades", max_rows=1000)
    assert whole.is_complete and whole.slice.row_count == 250
    everything = await catalog.sample("Internal", "AuditLog", max_rows=None)
    assert everything.is_complete and everything.slice.row_count == 5
    as_csv = await catalog.sample("MarketUS", "Trades", max_rows=2, fmt="csv")
    assert as_csv.slice.format == "csv"
    assert isinstance(as_csv.slice.data, str)
    assert as_csv.slice.data.splitlines() == [
        "Date,Sym,Price,Seq",
        "2024-01-02,AAPL,100,0",
        "2024-01-02,MSFT,101,1",
    ]


async def test_sample_falls_back_to_live(
    catalog: EnterpriseCatalog, fake: FakeEnterpriseBackend
) -> None:
    live = await catalog.sample("MarketUS", "LiveTicks", max_rows=3, head=False)
    assert live.source == "live"
    assert seq(live.slice.data) == [17, 18, 19]
    ops = [detail for op, detail in fake.calls if op in ("historical_table", "live_table")]
    assert ops[-2:] == [("MarketUS", "LiveTicks"), ("MarketUS", "LiveTicks")]


async def test_sample_errors(catalog: EnterpriseCatalog) -> None:
    with pytest.raises(NotFoundError, match=r"Staging\.Ghost"):
        await catalog.sample("Staging", "Ghost")
    with pytest.raises(InvalidArgumentError):
        await catalog.sample("", "Trades")
    with pytest.raises(InvalidArgumentError):
        await catalog.sample("MarketUS", "Trades", max_rows=-1)


async def test_catalog_through_a_persistent_query_session(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("catalog_pq", running=True)
    catalog = await system.catalog("catalog_pq")
    assert (await catalog.namespaces()).table.num_rows == 5


class _Refused(grpc.RpcError):
    """What a worker answers when it will not fetch a table for this user."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.PERMISSION_DENIED

    def details(self) -> str:
        return "User alice may not fetch tables from query 42"


def _refused_fetch() -> DHError:
    try:
        raise _Refused()
    except _Refused as cause:
        try:
            raise DHError("failed to fetch the table") from cause
        except DHError as error:
            return error


async def test_a_refused_fetch_is_not_reported_as_a_missing_table(
    catalog: EnterpriseCatalog, fake: FakeEnterpriseBackend
) -> None:
    """Issue 10: a PQ the user does not administer refuses ticket fetches."""
    fake.fail_next["historical_table"] = _refused_fetch()
    fake.fail_next["live_table"] = _refused_fetch()
    with pytest.raises(EnterpriseOperationError) as caught:
        await catalog.sample("MarketUS", "Trades")
    message = str(caught.value)
    assert "may not fetch tables from query 42" in message
    assert "neither a historical nor a live" not in message


async def test_structured_filters_alone_and_mixed_with_strings(catalog: EnterpriseCatalog) -> None:
    structured = [
        {"column": "Namespace", "op": "eq", "value": "MarketUS"},
        {"column": "TableName", "op": "contains", "value": "es"},
    ]
    result = await catalog.tables(filters=structured)
    assert pairs(result.table.to_pydict()) == [("MarketUS", "Trades"), ("MarketUS", "Quotes")]
    mixed = await catalog.tables(filters=[*structured, "TableName.startsWith(`Q`)"])
    assert pairs(mixed.table.to_pydict()) == [("MarketUS", "Quotes")]
    systems = await catalog.namespaces(
        filters=[{"any_of": [{"column": "NamespaceSet", "op": "eq", "value": "System"}]}]
    )
    assert systems.table.column("Namespace").to_pylist() == ["Internal"]
    with pytest.raises(InvalidArgumentError, match="unknown column 'Nope'"):
        await catalog.tables(filters=[{"column": "Nope", "op": "is_null"}])
    with pytest.raises(InvalidArgumentError) as caught:
        await catalog.tables(filters=["Namespace != null", {"column": "Namespace", "op": "eq"}])
    # The index is the item's place in the caller's list, strings included.
    assert str(caught.value).startswith(
        "invalid argument filters[1]: op 'eq' needs a value; to test for null use"
    )

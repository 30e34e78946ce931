"""``dh-mcp catalog ...`` in a subprocess against the Enterprise wire fake, whose running
query's worker (the PSK test worker behind a proxy) serves the test catalog."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cli._cli import Ran, environment, run
from tests.enterprise.catalog_data import CATALOG_ROWS, HISTORICAL
from tests.enterprise.wire.fixtures import wire, wire_database, wire_tls  # noqa: F401
from tests.enterprise.wire.harness import WireHarness

pytestmark = pytest.mark.integration

SYSTEM = "prod"
SESSION = f"enterprise:{SYSTEM}:reader"


@pytest.fixture
def home(wire: WireHarness, tmp_path: Path) -> Path:  # noqa: F811
    """A working directory whose config.json names the fake install ``prod``, with a
    running query ``reader`` whose worker reads the catalog."""
    wire.check_clients_closed = False  # the clients are in the CLI's process, not this one
    wire.controller.add_query("reader", running=True)
    config = {"enterprise": {"systems": {SYSTEM: wire.system_config()}}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return tmp_path


def cli(home: Path, *args: str, **env: str) -> Ran:
    return run(*args, "--config", str(home / "config.json"), cwd=home, env=environment(**env))


def rows(ran: Ran) -> list[dict[str, str]]:
    assert ran.code == 0, ran.err
    return list(csv.DictReader(io.StringIO(ran.out)))


def test_tables_and_namespaces_piped(home: Path) -> None:
    listed = rows(cli(home, "catalog", "tables", SESSION))
    assert [(row["Namespace"], row["TableName"], row["NamespaceSet"]) for row in listed] == list(
        CATALOG_ROWS
    )
    us = rows(cli(home, "catalog", "tables", SESSION, "--where", "Namespace", "eq", "MarketUS"))
    assert [row["TableName"] for row in us] == ["Trades", "Quotes", "LiveTicks"]
    # --where and --filter together are ANDed; --max-rows cuts the list.
    both = cli(
        home,
        "catalog",
        "tables",
        SESSION,
        "--where",
        "Namespace",
        "eq",
        "MarketUS",
        "--filter",
        "TableName.startsWith(`T`)",
        "--format",
        "json",
    )
    assert both.code == 0, both.err
    assert json.loads(both.out) == [
        {"Namespace": "MarketUS", "TableName": "Trades", "NamespaceSet": "User"}
    ]
    namespaces = cli(home, "catalog", "namespaces", SESSION, "--max-rows", "2", "--format", "json")
    assert namespaces.code == 0, namespaces.err
    assert json.loads(namespaces.out) == [{"Namespace": "Internal"}, {"Namespace": "MarketEU"}]


def test_schema_and_sample_piped(home: Path) -> None:
    schema = cli(
        home, "catalog", "schema", SESSION, "--namespace", "MarketUS", "--table", "Trades,Quotes"
    ).json()
    assert schema["count"] == 2 and schema["is_complete"] is True
    by_table = {entry["table"]: entry for entry in schema["schemas"]}
    assert set(by_table) == {"Trades", "Quotes"}
    trades = by_table["Trades"]
    assert trades["success"] is True and trades["namespace"] == "MarketUS"
    assert [column["Name"] for column in trades["data"]] == ["Date", "Sym", "Price", "Seq"]

    count, _ = HISTORICAL[("MarketUS", "Trades")]
    head = rows(cli(home, "catalog", "sample", SESSION, "MarketUS", "Trades", "--max-rows", "3"))
    assert [row["Seq"] for row in head] == ["0", "1", "2"]
    tail = rows(
        cli(home, "catalog", "sample", SESSION, "MarketUS", "Trades", "--max-rows", "2", "--tail")
    )
    assert [int(row["Seq"]) for row in tail] == [count - 2, count - 1]


def test_terminal_tables(home: Path) -> None:
    shown = cli(home, "catalog", "tables", SESSION, "--max-rows", "3", TTY_COMPATIBLE="1")
    assert shown.code == 0, shown.err
    assert "┃" in shown.out and "Namespace" in shown.out and "Quotes" in shown.out
    assert "MarketEU" not in shown.out  # the fourth entry
    assert "3 rows; more exist: raise --max-rows" in shown.err
    sample = cli(home, "catalog", "sample", SESSION, "MarketUS", "LiveTicks", TTY_COMPATIBLE="1")
    assert sample.code == 0, sample.err
    assert "┃" in sample.out and "Price" in sample.out
    assert "20 rows (live)" in sample.err


def test_errors_are_one_line(home: Path) -> None:
    # Read-only refuses where-clause strings (the engine compiles them), not --where.
    refused = cli(
        home, "catalog", "tables", SESSION, "--filter", "Namespace = `MarketUS`", "--read-only"
    )
    assert refused.code == 1 and "read-only" in refused.err
    assert len(refused.err.splitlines()) == 1 and refused.err.startswith("dh-mcp: error: ")
    missing = cli(home, "catalog", "schema", SESSION, "--namespace", "MarketUS", "--table", "Nope")
    assert missing.code == 1, missing.out
    assert json.loads(missing.out)["schemas"][0]["success"] is False
    community = cli(home, "catalog", "tables", "community:config:local")
    assert community.code == 2 and "enterprise" in community.err
    bad_op = cli(home, "catalog", "namespaces", SESSION, "--where", "Namespace", "like", "x")
    assert bad_op.code == 2 and "unknown op" in bad_op.err

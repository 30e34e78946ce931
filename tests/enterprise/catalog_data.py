"""The test catalog: what both Enterprise fakes serve as the database behind a Core+ worker.

A real Core+ worker resolves ``d/catalog``, ``d/hist/<ns>/<table>`` and ``d/live/<ns>/<table>``
tickets to database tables. A Community worker has no database, so the tables are built once
on the worker and published under shared tickets (never in the global scope other tests
list); the in-process fake fetches them directly, the wire harness's worker proxy rewrites
the database tickets the real client sends to these shared tickets.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydeephaven import Session
from pydeephaven.table import Table
from pydeephaven.ticket import SharedTicket

Kind = Literal["catalog", "hist", "live"]

# (Namespace, TableName, NamespaceSet)
CATALOG_ROWS: tuple[tuple[str, str, str], ...] = (
    ("MarketUS", "Trades", "User"),
    ("MarketUS", "Quotes", "User"),
    ("MarketUS", "LiveTicks", "User"),
    ("MarketEU", "Trades", "User"),
    ("Internal", "AuditLog", "System"),
    ("TestData", "Scratch", "User"),
    ("Staging", "Ghost", "User"),  # listed in the catalog but neither historical nor live
)
HISTORICAL: dict[tuple[str, str], tuple[int, list[str]]] = {
    ("MarketUS", "Trades"): (
        250,
        [
            "Date = `2024-01-02`",
            "Sym = i % 2 == 0 ? `AAPL` : `MSFT`",
            "Price = 100.0 + i",
            "Seq = i",
        ],
    ),
    ("MarketUS", "Quotes"): (40, ["Date = `2024-01-02`", "Bid = 99.5 + i", "Ask = 100.5 + i"]),
    ("MarketEU", "Trades"): (10, ["Date = `2024-01-02`", "Sym = `SAP`", "Price = 50.0 + i"]),
    ("Internal", "AuditLog"): (5, ["Event = `login`", "Seq = i"]),
    ("TestData", "Scratch"): (3, ["X = i"]),
}
LIVE: dict[tuple[str, str], tuple[int, list[str]]] = {
    ("MarketUS", "LiveTicks"): (20, ["Sym = `AAPL`", "Price = 200.0 + i", "Seq = i"]),
}


def database_ticket(kind: Kind, namespace: str = "", table_name: str = "") -> bytes:
    """The ticket the Core+ client sends for a database table (see coreplus DatabaseTicket)."""
    return b"d/catalog" if kind == "catalog" else f"d/{kind}/{namespace}/{table_name}".encode()


class PublishedCatalog:
    """The catalog and its tables, built on a worker through ``session`` and kept published.

    ``tickets`` maps each :func:`database_ticket` to the shared ticket serving it. The
    source tables are kept: releasing their exports would unpublish them.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tickets: dict[bytes, SharedTicket] = {}
        self._tables: list[Table] = []
        catalog = session.import_table(
            pa.table(
                {
                    "Namespace": [row[0] for row in CATALOG_ROWS],
                    "TableName": [row[1] for row in CATALOG_ROWS],
                    "NamespaceSet": [row[2] for row in CATALOG_ROWS],
                }
            )
        )
        self._publish(database_ticket("catalog"), catalog)
        kinds: tuple[tuple[Kind, dict[tuple[str, str], tuple[int, list[str]]]], ...] = (
            ("hist", HISTORICAL),
            ("live", LIVE),
        )
        for kind, tables in kinds:
            for (namespace, name), (rows, formulas) in tables.items():
                table = session.empty_table(rows).update(formulas)
                self._publish(database_ticket(kind, namespace, name), table)

    def _publish(self, key: bytes, table: Table) -> None:
        ticket = SharedTicket.random_ticket()
        self.session.publish_table(ticket, table)
        self.tickets[key] = ticket
        self._tables.append(table)

    def close(self) -> None:
        self._tables.clear()
        self.session.close()

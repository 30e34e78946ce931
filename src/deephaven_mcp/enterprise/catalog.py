"""Catalog discovery on an Enterprise session: tables, namespaces, schemas, samples.

Filters are Deephaven where-clauses handed to ``Table.where`` as strings (the server parses
them as filter expressions, so a filter can never run code), or structured conditions
(:mod:`deephaven_mcp.clients.shaping`) that the engine does not parse at all; a list may mix
both, and all are ANDed. Namespace and table-name lookups use structured
``pydeephaven.filters`` conditions too.
Every operation is bounded (rows or tables) and reports ``is_complete``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, TypeVar

import grpc
import pyarrow as pa
from pydeephaven import DHError, Session
from pydeephaven import filters as dh_filters
from pydeephaven.table import Table

from deephaven_mcp.clients.errors import (
    clip,
    exception_line,
    first_line,
    grpc_details,
    grpc_status,
)
from deephaven_mcp.clients.shaping import filter_table, structured_filter
from deephaven_mcp.clients.table_data import MAX_RESPONSE_BYTES, slice_table
from deephaven_mcp.enterprise._params import whole_number
from deephaven_mcp.enterprise.backend import EnterpriseBackend
from deephaven_mcp.enterprise.errors import EnterpriseOperationError, run_operation
from deephaven_mcp.enterprise.status import MAX_DETAIL
from deephaven_mcp.errors import DeephavenMcpError, InvalidArgumentError, NotFoundError
from deephaven_mcp.model.requests import (
    DEFAULT_CATALOG_ROWS,
    DEFAULT_NAMESPACE_ROWS,
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_SCHEMA_TABLES,
)
from deephaven_mcp.model.shaping import FilterItem, parse_catalog_filters
from deephaven_mcp.model.table import TableSlice

_log = logging.getLogger(__name__)

T = TypeVar("T")

NAMESPACE: Final = "Namespace"
TABLE_NAME: Final = "TableName"
NOT_IN_CATALOG: Final = "Table not found in catalog"


@dataclass(frozen=True)
class CatalogRows:
    """Rows of the (filtered) catalog or of its distinct namespaces."""

    table: pa.Table
    is_complete: bool


@dataclass(frozen=True)
class CatalogSchema:
    """Column metadata of one catalog table, or why it could not be read."""

    namespace: str
    table_name: str
    meta: pa.Table | None = None
    error: str | None = None

    @property
    def success(self) -> bool:
        """Whether the metadata was read."""
        return self.meta is not None


@dataclass(frozen=True)
class CatalogSchemas:
    """The schemas of the matching tables, and whether every match was read."""

    schemas: tuple[CatalogSchema, ...]
    is_complete: bool


@dataclass(frozen=True)
class CatalogSample:
    """Formatted rows of a catalog table and where they came from."""

    namespace: str
    table_name: str
    slice: TableSlice
    source: Literal["historical", "live"]

    @property
    def is_complete(self) -> bool:
        """Whether the sample holds every row asked for."""
        return self.slice.is_complete


CatalogFilter: TypeAlias = str | FilterItem | dict[str, Any]
"""A where-clause string, or a structured condition (model or its JSON form)."""


@dataclass(frozen=True)
class _Where:
    """Filters split by kind: where-clause strings and structured conditions."""

    clauses: list[str]
    structured: list[FilterItem]


def _check_filters(filters: Sequence[CatalogFilter] | None) -> _Where:
    clauses, structured = parse_catalog_filters(filters)
    return _Where(clauses, structured)


def _check_limit(name: str, value: int | None) -> int | None:
    return whole_number(name, value, 1, null_means="no limit")


class _Tables:
    """Every server table one operation creates, closed when it ends, in its own thread.

    pydeephaven releases a Table in ``__del__``. If that runs while the garbage collector
    runs inside gRPC's channel thread (tables referenced from an exception's traceback end up
    there), it makes an RPC from that thread and the channel deadlocks. So no open table is
    ever left to the collector.
    """

    def __init__(self) -> None:
        self._tables: list[Table] = []

    def add(self, table: Table) -> Table:
        self._tables.append(table)
        return table

    def close(self) -> None:
        for table in reversed(self._tables):
            if not table.is_closed:
                try:
                    table.close()
                except Exception as exc:
                    # Keep no traceback (it would hold the table) and disarm __del__.
                    _log.debug("Releasing a catalog table failed: %s", type(exc).__name__)
                    table.schema = None
        self._tables.clear()


def _scoped(fn: Callable[[_Tables], T]) -> Callable[[], T]:
    def run() -> T:
        tables = _Tables()
        try:
            return fn(tables)
        finally:
            tables.close()

    return run


def _bounded(
    tables: _Tables, table: Table, limit: int | None, head: bool = True
) -> tuple[pa.Table, bool]:
    """At most ``limit`` rows and whether that is all of them (one extra row tells)."""
    if limit is None:
        return table.to_arrow(), True
    window = tables.add(table.head(limit + 1) if head else table.tail(limit + 1))
    rows = window.to_arrow()
    if rows.num_rows <= limit:
        return rows, True
    return (rows.slice(0, limit) if head else rows.slice(1)), False


def _as_is(_tables: _Tables, table: Table) -> Table:
    return table


def _namespaces(tables: _Tables, table: Table) -> Table:
    """The distinct namespaces of ``table``, sorted."""
    distinct = tables.add(table.select_distinct([NAMESPACE]))
    return tables.add(distinct.sort([NAMESPACE]))


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means the session is gone, not that the table or filter is wrong."""
    return grpc_status(exc) in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)


class EnterpriseCatalog:
    """Catalog operations on one enterprise session; each call runs in a thread with a timeout."""

    def __init__(self, backend: EnterpriseBackend, session: Session, *, timeout: float) -> None:
        self.backend = backend
        self.session = session
        self.timeout = timeout

    async def _run(self, action: str, fn: Callable[[], T]) -> T:
        return await run_operation(action, self.timeout, fn)

    def _filtered(self, tables: _Tables, filters: _Where) -> Table:
        catalog = tables.add(self.backend.catalog_table(self.session))
        table = catalog
        if filters.structured:
            # Typed against the catalog's own columns; an unknown column or a wrong value
            # type is an InvalidArgumentError before anything reaches the worker.
            condition = structured_filter(catalog.schema, filters.structured)
            if condition is not None:
                table = tables.add(filter_table(table, condition, filters.structured))
        if not filters.clauses:
            return table
        try:
            return tables.add(table.where(filters.clauses))
        except DHError as exc:
            if _unreachable(exc):
                raise
            raise InvalidArgumentError(
                f"Deephaven rejected the catalog filters {filters.clauses!r}: "
                f"{exception_line(exc, MAX_DETAIL)} "
                "(string literals need backticks, e.g. Namespace = `market_data`)"
            ) from None

    async def _rows(
        self,
        action: str,
        filters: Sequence[CatalogFilter] | None,
        max_rows: int | None,
        view: Callable[[_Tables, Table], Table],
    ) -> CatalogRows:
        """At most ``max_rows`` rows of ``view`` of the catalog rows matching ``filters``."""
        where = _check_filters(filters)
        limit = _check_limit("max_rows", max_rows)

        def fetch(tables: _Tables) -> CatalogRows:
            rows, complete = _bounded(tables, view(tables, self._filtered(tables, where)), limit)
            return CatalogRows(rows, complete)

        return await self._run(action, _scoped(fetch))

    async def tables(
        self,
        filters: Sequence[CatalogFilter] | None = None,
        max_rows: int | None = DEFAULT_CATALOG_ROWS,
    ) -> CatalogRows:
        """Catalog rows matching all ``filters`` (AND), at most ``max_rows``."""
        return await self._rows("Reading the catalog", filters, max_rows, _as_is)

    async def namespaces(
        self,
        filters: Sequence[CatalogFilter] | None = None,
        max_rows: int | None = DEFAULT_NAMESPACE_ROWS,
    ) -> CatalogRows:
        """Distinct, sorted namespaces of the catalog rows matching ``filters``."""
        return await self._rows("Listing catalog namespaces", filters, max_rows, _namespaces)

    def _fetch(
        self, tables: _Tables, namespace: str, table_name: str
    ) -> tuple[Table, Literal["historical", "live"]]:
        """historical_table first, live_table if that fails (as the spec asks)."""
        try:
            historical = self.backend.historical_table(self.session, namespace, table_name)
            return tables.add(historical), "historical"
        except DHError as historical_error:
            if _unreachable(historical_error):
                raise
            _log.debug("No historical %s.%s: %s", namespace, table_name, historical_error)
            first_error = historical_error
        try:
            return tables.add(self.backend.live_table(self.session, namespace, table_name)), "live"
        except DHError as live_error:
            if _unreachable(live_error):
                raise
            for error in (first_error, live_error):
                if grpc_status(error) is grpc.StatusCode.PERMISSION_DENIED:
                    # Not "no such table": the worker refused us (e.g. a PQ we do not
                    # administer cannot fetch tables for us).
                    reason = grpc_details(error) or "permission denied"
                    raise EnterpriseOperationError(
                        f"Reading {namespace}.{table_name} through this session was refused: "
                        f"{clip(first_line(reason), MAX_DETAIL)}. Use a session you may "
                        "administer, such as one from session_enterprise_create."
                    ) from None
            raise NotFoundError(
                f"Table {namespace}.{table_name} is neither a historical nor a live table."
            ) from None

    async def schemas(
        self,
        namespace: str | None = None,
        table_names: Sequence[str] | None = None,
        filters: Sequence[CatalogFilter] | None = None,
        max_tables: int | None = DEFAULT_SCHEMA_TABLES,
    ) -> CatalogSchemas:
        """Full column metadata of matching catalog tables; per-table failures are reported."""
        where = _check_filters(filters)
        limit = _check_limit("max_tables", max_tables)
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise InvalidArgumentError("namespace must be a non-empty string")
        wanted = None
        if table_names is not None:
            if isinstance(table_names, str) or not all(
                isinstance(name, str) and name for name in table_names
            ):
                raise InvalidArgumentError("table_names must be a list of non-empty strings")
            wanted = list(dict.fromkeys(table_names))

        def matching(tables: _Tables) -> tuple[list[tuple[str, str]], bool]:
            table = self._filtered(tables, where)
            if namespace is not None:
                table = tables.add(table.where(dh_filters.in_(NAMESPACE, [namespace])))
            if wanted is not None:
                table = tables.add(table.where(dh_filters.in_(TABLE_NAME, wanted)))
            names = tables.add(table.view([NAMESPACE, TABLE_NAME]))
            rows, complete = _bounded(tables, names, limit)
            data = rows.to_pydict()
            return list(zip(data[NAMESPACE], data[TABLE_NAME], strict=True)), complete

        pairs, complete = await self._run("Finding catalog tables", _scoped(matching))
        results: list[CatalogSchema] = []
        for ns, name in pairs:
            results.append(await self._schema(ns, name))
        if wanted is not None:
            found = {name for _, name in pairs}
            for name in wanted:
                if name not in found and (complete or limit is None):
                    results.append(CatalogSchema(namespace or "", name, error=NOT_IN_CATALOG))
        return CatalogSchemas(tuple(results), complete)

    async def _schema(self, namespace: str, table_name: str) -> CatalogSchema:
        def fetch(tables: _Tables) -> pa.Table:
            table, _ = self._fetch(tables, namespace, table_name)
            return self.backend.table_meta(table)

        action = f"Reading the schema of {namespace}.{table_name}"
        try:
            meta = await self._run(action, _scoped(fetch))
        except DeephavenMcpError as exc:  # one table failing does not stop the others
            return CatalogSchema(namespace, table_name, error=str(exc))
        return CatalogSchema(namespace, table_name, meta=meta)

    async def sample(
        self,
        namespace: str,
        table_name: str,
        max_rows: int | None = DEFAULT_SAMPLE_ROWS,
        head: bool = True,
        fmt: str = "json-column",
        max_bytes: int = MAX_RESPONSE_BYTES,
        *,
        keep_arrow: bool = False,
    ) -> CatalogSample:
        """First (``head``) or last ``max_rows`` rows of a catalog table, as ``fmt``, within
        ``max_bytes`` of rows (kept as Arrow too if ``keep_arrow``)."""
        for label, value in (("namespace", namespace), ("table_name", table_name)):
            if not isinstance(value, str) or not value:
                raise InvalidArgumentError(f"{label} must be a non-empty string")
        limit = _check_limit("max_rows", max_rows)
        label = f"{namespace}.{table_name}"

        def fetch(tables: _Tables) -> CatalogSample:
            table, source = self._fetch(tables, namespace, table_name)
            # Sliced on the worker, read in windows that stop at the answer limit.
            piece = slice_table(
                table,
                label,
                max_rows=limit,
                head=head,
                fmt=fmt,
                max_bytes=max_bytes,
                keep_arrow=keep_arrow,
            )
            return CatalogSample(namespace, table_name, piece, source)

        return await self._run(f"Sampling {namespace}.{table_name}", _scoped(fetch))

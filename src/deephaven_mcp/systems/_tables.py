"""Reading tables and running code in one session: the bodies of the session data tools."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from pydeephaven import Session

from deephaven_mcp._files import read_text_file
from deephaven_mcp.clients import community
from deephaven_mcp.clients.table_data import TableSlice, read_table_slice
from deephaven_mcp.clients.timeouts import Timeouts
from deephaven_mcp.errors import DeephavenMcpError, InvalidArgumentError
from deephaven_mcp.formatting import describe_schema, format_table
from deephaven_mcp.resource_manager import ManagedSession
from deephaven_mcp.systems.results import PipPackages, TableNames, TableSchemas

MAX_SCRIPT_BYTES: Final = 1_000_000
MAX_SCHEMA_TABLES: Final = 200
MAX_TABLE_NAMES: Final = 10_000
SCHEMA_CONCURRENCY: Final = 4


def check_max_rows(name: str, value: int | None) -> None:
    """Row limits are positive, or None for "all" (bounded by the response size cap)."""
    if value is not None and value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer or null (got {value})")


def _schema_entry(session: Session, name: str) -> dict[str, Any]:
    meta = community.table_meta(session, name)
    return {
        "success": True,
        "table": name,
        "format": "json-row",
        "data": format_table(meta, "json-row"),
        "meta_columns": describe_schema(meta.schema),
        "row_count": meta.num_rows,
    }


async def table_names(session: ManagedSession, session_id: str, timeouts: Timeouts) -> TableNames:
    names = await session.run("Listing tables", community.list_tables, timeouts.metadata)
    shown = names[:MAX_TABLE_NAMES]
    extra = {"is_complete": False} if len(names) > len(shown) else {}
    return TableNames(session_id=session_id, table_names=shown, count=len(names), **extra)


async def table_schemas(
    session: ManagedSession, timeouts: Timeouts, table_names: list[str] | None
) -> TableSchemas:
    """Schemas of up to MAX_SCHEMA_TABLES tables; one table failing does not fail the rest."""
    names = table_names
    if names is None:
        names = await session.run("Listing tables", community.list_tables, timeouts.metadata)
    names = list(dict.fromkeys(names))
    selected = names[:MAX_SCHEMA_TABLES]
    gate = asyncio.Semaphore(SCHEMA_CONCURRENCY)

    async def one(name: str) -> dict[str, Any]:
        async with gate:
            try:
                return await session.run(
                    f"Reading the schema of {name}",
                    lambda client: _schema_entry(client, name),
                    timeouts.metadata,
                )
            except DeephavenMcpError as exc:
                return {"success": False, "table": name, "error": str(exc), "isError": True}

    if selected:
        # Connect once up front so a dead session fails the call as a whole.
        await session.client()
    schemas = list(await asyncio.gather(*(one(name) for name in selected)))
    return TableSchemas(
        count=len(schemas), schemas=schemas, is_complete=len(selected) == len(names)
    )


async def table_slice(
    session: ManagedSession,
    timeouts: Timeouts,
    table_name: str,
    max_rows: int | None,
    head: bool,
    fmt: str,
) -> TableSlice:
    """``fmt`` is already resolved (see :func:`resolve_format`)."""
    return await session.run(
        f"Reading table {table_name}",
        lambda client: read_table_slice(client, table_name, max_rows=max_rows, head=head, fmt=fmt),
        timeouts.data,
    )


async def script_code(script: str | None, script_path: str | None) -> str:
    """The code to run: ``script`` itself, or the bounded contents of ``script_path``."""
    if (script is None) == (script_path is None):
        raise InvalidArgumentError("provide exactly one of 'script' or 'script_path'")
    code = (
        script
        if script is not None
        else await read_text_file(
            str(script_path),
            what="script_path",
            max_bytes=MAX_SCRIPT_BYTES,
            error=InvalidArgumentError,
        )
    )
    if len(code.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise InvalidArgumentError(f"script is larger than {MAX_SCRIPT_BYTES} bytes")
    return code


async def run_script(session: ManagedSession, timeouts: Timeouts, code: str) -> None:
    await session.run(
        "Running the script", lambda client: community.run_script(client, code), timeouts.script
    )


async def pip_packages(session: ManagedSession, session_id: str, timeouts: Timeouts) -> PipPackages:
    if session.programming_language.lower() != "python":
        raise InvalidArgumentError(
            f"session '{session_id}' runs {session.programming_language}; "
            "pip packages exist only in Python sessions"
        )
    packages = await session.run("Listing pip packages", community.pip_list, timeouts.script)
    return PipPackages(result=packages)

"""Argument completion (``completion/complete``) and the prompts that make it reachable.

MCP scopes a completion request to a prompt (``ref/prompt``) or a resource template
(``ref/resource``); tool arguments have no completion reference in the protocol. So the
values agents pass to tools (session ids, table and column names, Enterprise systems and
persistent queries) are completed for the arguments of the resource templates (see
:mod:`._resources`) and of the two prompts defined here, which carry the same names.

Completing is best effort: a failed or slow lookup answers an empty list within
:data:`LOOKUP_WAIT` seconds and never an error. Listing sessions or systems does not
connect; listing tables, columns or queries does (that is the only way to know them).
A slow lookup keeps running in the background and its answer is cached for
:data:`CACHE_SECONDS`, so the next keystroke usually finds it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

import mcp_types
from fastmcp import FastMCP
from fastmcp.server.completions import MAX_COMPLETION_VALUES, CompletionReference
from pydantic import Field

from deephaven_mcp.errors import DeephavenMcpError
from deephaven_mcp.mcp_systems_server._tool_policy import offered_tools
from deephaven_mcp.systems import DeephavenSystems

_log = logging.getLogger(__name__)

LOOKUP_WAIT: Final = 2.0
"""Seconds a completion waits for a lookup before answering with what it has (nothing)."""
CACHE_SECONDS: Final = 5.0
"""How long a lookup's answer (or failure) is reused: typing sends a request per key."""
MAX_CACHED: Final = 1000

SESSION_ARGS: Final = frozenset({"session_id"})
TABLE_ARGS: Final = frozenset({"table_name", "table"})
COLUMN_ARGS: Final = frozenset({"column", "columns"})
SYSTEM_ARGS: Final = frozenset({"system_name"})
PQ_ARGS: Final = frozenset({"pq_identifier", "pq_id"})

Lookup = Callable[[], Coroutine[Any, Any, list[str]]]


class _Cache:
    """Lookups that answer within a deadline, shared while in flight, kept briefly."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, ...], tuple[float, list[str]]] = {}
        self._pending: dict[tuple[str, ...], asyncio.Task[list[str]]] = {}

    async def get(self, key: tuple[str, ...], lookup: Lookup) -> list[str]:
        answer = self._answers.get(key)
        if answer is not None and answer[0] > time.monotonic():
            return answer[1]
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(lookup(), name=f"completion lookup {key[0]}")
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        try:
            # Shielded: a lookup that is merely slow (a first connect) finishes for next time.
            return await asyncio.wait_for(asyncio.shield(task), LOOKUP_WAIT)
        except TimeoutError:
            _log.debug("completion lookup %s is slow; answering empty for now", key)
        except DeephavenMcpError as exc:
            _log.debug("completion lookup %s failed: %s", key, exc)
        except Exception:
            _log.warning("completion lookup %s failed unexpectedly", key, exc_info=True)
        return []

    def _settle(self, key: tuple[str, ...], task: asyncio.Task[list[str]]) -> None:
        self._pending.pop(key, None)
        if task.cancelled():
            return
        failed = task.exception() is not None  # retrieved, so never "never retrieved"
        now = time.monotonic()
        if len(self._answers) >= MAX_CACHED:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        if len(self._answers) < MAX_CACHED:
            self._answers[key] = (now + CACHE_SECONDS, [] if failed else task.result())


def _matching(candidates: list[str], typed: str) -> list[str]:
    """Candidates starting with what was typed (case-insensitive), in their given order."""
    prefix = typed.casefold()
    return [value for value in candidates if value.casefold().startswith(prefix)]


def _capped(values: list[str]) -> mcp_types.Completion:
    """At most the 100 values MCP allows, saying how many there were."""
    if len(values) <= MAX_COMPLETION_VALUES:
        return mcp_types.Completion(values=values, total=len(values), has_more=False)
    return mcp_types.Completion(
        values=values[:MAX_COMPLETION_VALUES], total=len(values), has_more=True
    )


class Completer:
    """The server's completion handler: dispatches on the argument's name.

    The reference does not matter: fastmcp calls the handler only for a prompt or
    template that exists and is visible, and every argument name means the same thing
    wherever it appears. Values an argument depends on come from the request's context
    (``context.arguments``), e.g. ``session_id`` when completing ``table_name``.
    """

    def __init__(self, systems: DeephavenSystems) -> None:
        self._systems = systems
        self._cache = _Cache()

    async def complete(
        self,
        ref: CompletionReference,
        argument: mcp_types.CompletionArgument,
        context: mcp_types.CompletionContext | None,
    ) -> mcp_types.Completion:
        known = dict(context.arguments or {}) if context is not None else {}
        name, typed = argument.name, argument.value
        if name in SESSION_ARGS:
            return _capped(_matching(await self._session_ids(), typed))
        if name in TABLE_ARGS:
            return _capped(_matching(await self._tables(known.get("session_id")), typed))
        if name in COLUMN_ARGS:
            table = known.get("table_name") or known.get("table")
            columns = await self._columns(known.get("session_id"), table)
            return (
                self._list_item(columns, typed)
                if name == "columns"
                else _capped(_matching(columns, typed))
            )
        if name in SYSTEM_ARGS:
            return _capped(_matching(self._system_names(), typed))
        if name == "pq_id":
            return _capped(await self._pq_ids(typed))
        if name in PQ_ARGS:
            return _capped(_matching(await self._pq_names(known.get("system_name")), typed))
        return _capped([])

    def _offered(self, tool: str) -> bool:
        """Complete only what the tool policy would let the caller list anyway."""
        systems = self._systems
        return tool in offered_tools(systems)

    async def _session_ids(self) -> list[str]:
        if not self._offered("sessions_list"):
            return []

        async def lookup() -> list[str]:
            listing = await self._systems.sessions_list()
            return [str(entry["session_id"]) for entry in listing.sessions]

        return await self._cache.get(("sessions",), lookup)

    async def _tables(self, session_id: str | None) -> list[str]:
        if not session_id or not self._offered("session_tables_list"):
            return []

        async def lookup() -> list[str]:
            return list((await self._systems.session_tables_list(session_id)).table_names)

        return await self._cache.get(("tables", session_id), lookup)

    async def _columns(self, session_id: str | None, table: str | None) -> list[str]:
        if not session_id or not table or not self._offered("session_tables_schema"):
            return []

        async def lookup() -> list[str]:
            schemas = await self._systems.session_tables_schema(session_id, [table])
            return column_names(schemas.schemas[0]) if schemas.schemas else []

        return await self._cache.get(("columns", session_id, table), lookup)

    def _list_item(self, columns: list[str], typed: str) -> mcp_types.Completion:
        """``columns`` is a comma-separated list: complete its last item, keep the rest."""
        head, comma, last = typed.rpartition(",")
        chosen = {item.strip() for item in head.split(",")} if comma else set()
        stem = f"{head}{comma}" + (" " if comma and last.startswith(" ") else "")
        return _capped(
            [
                f"{stem}{column}"
                for column in _matching(columns, last.strip())
                if column not in chosen
            ]
        )

    def _system_names(self) -> list[str]:
        if not self._offered("pq_list") and not self._offered("enterprise_systems_status"):
            return []
        return sorted(self._systems.config.enterprise.systems)

    async def _pq_names(self, system_name: str | None) -> list[str]:
        if not system_name or not self._offered("pq_list"):
            return []

        async def lookup() -> list[str]:
            listing = await self._systems.pq_list(system_name)
            return [str(query["name"]) for query in listing.pqs]

        return await self._cache.get(("pqs", system_name), lookup)

    async def _pq_ids(self, typed: str) -> list[str]:
        """'enterprise:<system>:<name>': systems first (no connection), then their PQs."""
        kind, _, rest = typed.partition(":")
        system, sep, _ = rest.partition(":")
        if not sep or kind != "enterprise":
            return _matching([f"enterprise:{name}:" for name in self._system_names()], typed)
        return _matching(
            [f"enterprise:{system}:{name}" for name in await self._pq_names(system)], typed
        )


def column_names(schema_entry: dict[str, Any]) -> list[str]:
    """Column names from one ``session_tables_schema`` entry (empty if it failed)."""
    if not schema_entry.get("success"):
        return []
    rows = schema_entry.get("data") or []
    return [str(row["Name"]) for row in rows if isinstance(row, dict) and "Name" in row]


SessionIdText = Annotated[
    str, Field(description="Session id, e.g. 'community:config:local' (see sessions_list).")
]


def explore_table(
    session_id: SessionIdText,
    table_name: Annotated[str, Field(description="Name of a table in the session.")],
    columns: Annotated[
        str, Field(description="Optional comma-separated columns to focus on.")
    ] = "",
) -> str:
    """Look at one Deephaven table: its schema, a sample of rows, and what stands out."""
    focus = f" Focus on the columns {columns}." if columns.strip() else ""
    return (
        f"Explore the Deephaven table '{table_name}' in session '{session_id}'. "
        "Read its schema (session_tables_schema, or the resource "
        "deephaven://<session_id>/tables/<table>/schema), then a small sample of rows "
        "(session_table_data with max_rows around 20). Describe what each column holds, "
        f"the value ranges and anything unusual, and suggest next questions to ask.{focus}"
    )


def investigate_pq(
    system_name: Annotated[str, Field(description="Enterprise system from the config.")],
    pq_identifier: Annotated[str, Field(description="Persistent query name or serial.")],
) -> str:
    """Find out the state of a persistent query and, if it is failing, why."""
    return (
        f"Investigate the persistent query '{pq_identifier}' on the Deephaven Enterprise "
        f"system '{system_name}'. Read its details (pq_details): state, status details, "
        "exception message and number of failures. If it is running, list its tables "
        "(session_tables_list with its session_id). Summarize its health and, if it fails, "
        "the likely cause and what to change."
    )


def register_completions(mcp: FastMCP[Any], systems: DeephavenSystems) -> None:
    """Add the completion handler (which advertises the capability) and the prompts."""
    mcp.add_completion_handler(Completer(systems).complete)
    mcp.prompt(explore_table)
    mcp.prompt(investigate_pq)

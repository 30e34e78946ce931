"""Argument completion through a real MCP client, against a real worker.

Completions are scoped to resource templates and prompts (the protocol has no reference
for tool arguments), so each argument is completed where a template or prompt has it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from typing import Any

import mcp_types
import pytest
from fastmcp import Client, FastMCP
from fastmcp.client.transports import FastMCPTransport
from mcp_types import PromptReference, ResourceTemplateReference

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.mcp_systems_server._completions import LOOKUP_WAIT
from tests._ports import free_port
from tests._workers import RunningWorker
from tests.enterprise.conftest import PASSWORD
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.mcp_systems_server._helpers import session_config

pytestmark = pytest.mark.integration

LOCAL = "community:config:local"
DEAD = "community:config:dead"
TABLES = ResourceTemplateReference(uri="deephaven://{session_id}/tables")
SCHEMA = ResourceTemplateReference(uri="deephaven://{session_id}/tables/{table}/schema")
EXPLORE = PromptReference(name="explore_table")
INVESTIGATE = PromptReference(name="investigate_pq")
SPARE_SESSIONS = 120  # more than the 100 values one completion may carry


def _system() -> dict[str, Any]:
    return {
        "connection_json_url": "https://enterprise.test/iris/connection.json",
        "auth_type": "password",
        "username": "alice",
        "password": PASSWORD,
    }


@pytest.fixture(scope="module")
async def client(
    dh_worker: RunningWorker, fake: FakeEnterpriseBackend
) -> AsyncIterator[Client[Any]]:
    dead_port = free_port()
    sessions: dict[str, Any] = {"local": session_config(dh_worker)}
    sessions["dead"] = {"host": "127.0.0.1", "port": dead_port}
    for index in range(SPARE_SESSIONS):
        sessions[f"spare{index:03d}"] = {"host": "127.0.0.1", "port": dead_port}
    config = McpConfig.model_validate(
        {
            "community": {"sessions": sessions},
            "enterprise": {"systems": {"prod": _system(), "qa": _system()}},
        }
    )
    fake.add_existing_pq("analytics")  # a query somebody made, for the PQ completions
    server = build_systems_server(config=config, enterprise_backend=fake)
    async with Client(server, timeout=120) as connected:
        yield connected


async def _complete(
    client: Client[Any],
    ref: ResourceTemplateReference | PromptReference,
    name: str,
    value: str,
    **context: str,
) -> mcp_types.Completion:
    return await client.complete(ref, {"name": name, "value": value}, context or None)


async def test_the_capability_is_advertised(client: Client[Any]) -> None:
    assert client.server_capabilities is not None
    assert client.server_capabilities.completions is not None


async def test_session_ids_are_prefix_filtered(client: Client[Any]) -> None:
    found = await _complete(client, TABLES, "session_id", "community:config:lo")
    assert found.values == [LOCAL]
    assert found.total == 1 and not found.has_more
    # case-insensitive, and the same argument of another template or a prompt
    assert (await _complete(client, SCHEMA, "session_id", "COMMUNITY:CONFIG:DE")).values == [DEAD]
    assert (await _complete(client, EXPLORE, "session_id", "community:config:lo")).values == [LOCAL]
    assert (await _complete(client, TABLES, "session_id", "nothing-like-it")).values == []


async def test_session_ids_are_capped_at_100(client: Client[Any]) -> None:
    found = await _complete(client, TABLES, "session_id", "")
    assert len(found.values) == 100
    assert found.has_more is True
    assert found.total is not None and found.total >= SPARE_SESSIONS + 2
    spares = await _complete(client, TABLES, "session_id", "community:config:spare")
    assert spares.total == SPARE_SESSIONS and spares.has_more is True


async def test_tables_of_the_session_in_context(client: Client[Any]) -> None:
    found = await _complete(client, SCHEMA, "table", "simple_", session_id=LOCAL)
    assert found.values == ["simple_awkward", "simple_numbers", "simple_people"]
    prompt = await _complete(client, EXPLORE, "table_name", "por", session_id=LOCAL)
    assert prompt.values == ["portfolio"]


async def test_tables_without_a_usable_session_are_empty(client: Client[Any]) -> None:
    assert (await _complete(client, SCHEMA, "table", "")).values == []
    unknown = await _complete(client, SCHEMA, "table", "", session_id="community:config:nope")
    assert unknown.values == []
    malformed = await _complete(client, SCHEMA, "table", "", session_id="not-an-id")
    assert malformed.values == []


async def test_an_unreachable_worker_answers_empty_quickly(client: Client[Any]) -> None:
    started = time.monotonic()
    found = await _complete(client, SCHEMA, "table", "", session_id=DEAD)
    assert found.values == []
    assert time.monotonic() - started < LOOKUP_WAIT + 5


async def test_columns_of_the_table_in_context(client: Client[Any]) -> None:
    found = await _complete(
        client, EXPLORE, "columns", "", session_id=LOCAL, table_name="portfolio"
    )
    assert found.values == ["Sym", "Shares", "CostBasis"]
    assert (
        await _complete(client, EXPLORE, "columns", "s", session_id=LOCAL, table_name="portfolio")
    ).values == ["Sym", "Shares"]


async def test_a_column_list_completes_its_last_item(client: Client[Any]) -> None:
    found = await _complete(
        client, EXPLORE, "columns", "Sym, ", session_id=LOCAL, table_name="portfolio"
    )
    assert found.values == ["Sym, Shares", "Sym, CostBasis"]
    found = await _complete(
        client, EXPLORE, "columns", "Sym,Co", session_id=LOCAL, table_name="portfolio"
    )
    assert found.values == ["Sym,CostBasis"]


async def test_columns_of_an_unknown_table_are_empty(client: Client[Any]) -> None:
    found = await _complete(
        client, EXPLORE, "columns", "", session_id=LOCAL, table_name="no_such_table"
    )
    assert found.values == []
    assert (await _complete(client, EXPLORE, "columns", "", session_id=LOCAL)).values == []


async def test_enterprise_systems_and_persistent_queries(client: Client[Any]) -> None:
    assert (await _complete(client, INVESTIGATE, "system_name", "")).values == ["prod", "qa"]
    assert (await _complete(client, INVESTIGATE, "system_name", "P")).values == ["prod"]
    found = await _complete(client, INVESTIGATE, "pq_identifier", "ana", system_name="prod")
    assert found.values == ["analytics"]
    assert (await _complete(client, INVESTIGATE, "pq_identifier", "")).values == []
    unknown = await _complete(client, INVESTIGATE, "pq_identifier", "", system_name="nope")
    assert unknown.values == []


async def test_pq_ids_complete_system_then_query(client: Client[Any]) -> None:
    # No prompt or template takes pq_id (a tool argument) yet, so no request can reach
    # it: the server's registered handler is called directly.
    transport = client.transport
    assert isinstance(transport, FastMCPTransport)
    assert isinstance(transport.server, FastMCP)
    handler = transport.server._completion_handler
    assert handler is not None
    ref = PromptReference(name="investigate_pq")

    async def values(typed: str) -> list[str]:
        argument = mcp_types.CompletionArgument(name="pq_id", value=typed)
        raw = handler(ref, argument, None)
        completion = await raw if inspect.isawaitable(raw) else raw
        assert isinstance(completion, mcp_types.Completion)
        return completion.values

    assert await values("") == ["enterprise:prod:", "enterprise:qa:"]
    assert await values("enterprise:p") == ["enterprise:prod:"]
    assert await values("enterprise:prod:an") == ["enterprise:prod:analytics"]


async def test_unknown_arguments_and_references_are_empty(client: Client[Any]) -> None:
    assert (await _complete(client, EXPLORE, "something_else", "")).values == []
    missing = PromptReference(name="no_such_prompt")
    assert (await _complete(client, missing, "session_id", "")).values == []


async def test_concurrent_completions_share_one_lookup(client: Client[Any]) -> None:
    results = await asyncio.gather(
        *(_complete(client, SCHEMA, "table", "q", session_id=LOCAL) for _ in range(5))
    )
    assert all(found.values == ["quotes"] for found in results)


async def test_the_tool_policy_limits_completions(dh_worker: RunningWorker) -> None:
    config = McpConfig.model_validate(
        {
            "community": {"sessions": {"local": session_config(dh_worker)}},
            "security": {"tools": {"disabled": ["session_tables_list", "sessions_list"]}},
        }
    )
    async with Client(build_systems_server(config=config)) as restricted:
        assert (await _complete(restricted, TABLES, "session_id", "")).values == []
        found = await _complete(restricted, SCHEMA, "table", "", session_id=LOCAL)
        assert found.values == []
        columns = await _complete(
            restricted, EXPLORE, "columns", "", session_id=LOCAL, table_name="portfolio"
        )
        assert columns.values == ["Sym", "Shares", "CostBasis"]

"""sessions_list filters (type, system, source) through an MCP client and the Python API.

The sessions: a configured community session, a community worker this server launched (in
the Python API test), an enterprise worker and a running persistent query on the wire
fakes, seen through the real Core+ client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastmcp import Client

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.errors import InvalidArgumentError, NotFoundError
from deephaven_mcp.launchers import LaunchedWorker
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager.dynamic_session import DynamicCommunitySession
from tests._workers import RunningWorker
from tests.enterprise.wire.harness import WireHarness
from tests.mcp_systems_server._helpers import ToolCaller, session_config

CONFIGURED = "community:config:local"
WORKER = "enterprise:prod:w1"
QUERY = "enterprise:prod:dash"


def _config(wire: WireHarness, worker: RunningWorker) -> McpConfig:
    system = wire.system_config()
    return McpConfig.model_validate(
        {
            "community": {"sessions": {"local": session_config(worker)}},
            "enterprise": {"systems": {"prod": system, "other": system}},
        }
    )


@pytest.fixture
async def tools(wire: WireHarness, dh_psk_worker: RunningWorker) -> AsyncIterator[ToolCaller]:
    server = build_systems_server(config=_config(wire, dh_psk_worker))
    async with Client(server, timeout=120) as client:
        tools = ToolCaller(client)
        wire.controller.add_query("dash", running=True)
        await tools.ok("session_enterprise_create", system_name="prod", session_name="w1")
        yield tools
        await tools.ok("session_enterprise_delete", system_name="prod", session_name="w1")


async def _ids(tools: ToolCaller, **filters: Any) -> list[str]:
    answer = await tools.ok("sessions_list", **filters)
    return [str(session["session_id"]) for session in answer["sessions"]]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [CONFIGURED, QUERY, WORKER]),
        ({"type": "community"}, [CONFIGURED]),
        ({"type": "enterprise"}, [QUERY, WORKER]),
        ({"system": "prod"}, [QUERY, WORKER]),
        ({"system": "other"}, []),
        ({"source": "config"}, [CONFIGURED]),
        ({"source": "dynamic"}, [WORKER]),
        ({"source": "pq"}, [QUERY]),
        ({"type": "enterprise", "source": "pq"}, [QUERY]),
        ({"system": "prod", "source": "dynamic"}, [WORKER]),
        ({"type": "enterprise", "system": "prod", "source": "pq"}, [QUERY]),
        ({"type": "community", "source": "dynamic"}, []),
    ],
)
async def test_each_filter_and_combinations(
    tools: ToolCaller, filters: dict[str, str], expected: list[str]
) -> None:
    assert await _ids(tools, **filters) == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (
            {"type": "cloud"},
            "invalid argument type: expected one of 'community' or 'enterprise'",
        ),
        (
            {"source": "static"},
            "invalid argument source: expected one of 'config', 'dynamic' or 'pq'",
        ),
        ({"system": "nope"}, "enterprise system 'nope' not found; known systems: other, prod"),
        (
            {"type": "community", "system": "prod"},
            "type 'community' lists only community sessions and system 'prod' only "
            "enterprise ones: together they match nothing",
        ),
        (
            {"type": "enterprise", "source": "config"},
            "type 'enterprise' lists only enterprise sessions and source 'config' only "
            "community ones: together they match nothing",
        ),
    ],
)
async def test_invalid_filters_are_refused_clearly(
    tools: ToolCaller, filters: dict[str, str], message: str
) -> None:
    assert await tools.error("sessions_list", **filters) == message


class _Idle:
    """A launched worker's process control, for a session that is only listed."""

    async def stop(self, timeout: float) -> None:
        return None

    async def is_running(self) -> bool:
        return True


async def test_the_python_api_filters_too(wire: WireHarness, dh_psk_worker: RunningWorker) -> None:
    launched = LaunchedWorker(
        session_name="scratch",
        launch_method="python",
        host="127.0.0.1",
        port=1,
        auth_type=AuthType.ANONYMOUS,
        auth_token=None,
        pid=None,
        container_id=None,
        started_at=datetime.now(UTC),
        _control=_Idle(),
    )
    async with DeephavenSystems(config=_config(wire, dh_psk_worker)) as systems:
        await systems.registry.add(DynamicCommunitySession(launched, "python", Timeouts()))
        wire.controller.add_query("dash", running=True)
        await systems.pq_list("prod")  # connects: its running queries are sessions now

        async def ids(**filters: Any) -> list[str]:
            answer = await systems.sessions_list(**filters)
            return [str(session["session_id"]) for session in answer.sessions]

        assert await ids() == [CONFIGURED, "community:dynamic:scratch", QUERY]
        assert await ids(source="dynamic") == ["community:dynamic:scratch"]
        assert await ids(type="community", source="config") == [CONFIGURED]
        assert await ids(system="prod") == [QUERY]
        with pytest.raises(InvalidArgumentError, match="type must be one of"):
            await systems.sessions_list(type="cloud")  # type: ignore[arg-type]
        with pytest.raises(NotFoundError, match="known systems: other, prod"):
            await systems.sessions_list(system="nope")

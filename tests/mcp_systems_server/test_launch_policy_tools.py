"""The community launch policy through a real MCP client.

Refusals need no worker: nothing is launched. The allowed launch goes through the real
docker SDK to the fake Docker Engine API, whose container publishes the PSK test worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.systems._community import DOCKER_IMAGES
from tests._workers import RunningWorker
from tests.conftest import TEST_PSK
from tests.launchers.fake_docker import FakeDockerEngine
from tests.mcp_systems_server._helpers import ToolCaller


def _config(**creation: Any) -> McpConfig:
    return McpConfig.model_validate({"community": {"session_creation": creation}})


@pytest.fixture
async def locked() -> AsyncIterator[ToolCaller]:
    """Session creation with the safe defaults: no agent_may_set, heap up to 8 GB."""
    async with Client(build_systems_server(config=_config())) as client:
        yield ToolCaller(client)


async def _dynamic_sessions(tools: ToolCaller) -> list[str]:
    sessions = (await tools.ok("sessions_list"))["sessions"]
    return [s["session_id"] for s in sessions if s["session_id"].startswith("community:dynamic:")]


async def test_an_operator_setting_is_refused_naming_its_key(locked: ToolCaller) -> None:
    message = await locked.error(
        "session_community_create", session_name="w", docker_volumes=["/:/host"]
    )
    assert message == (
        'docker_volumes is set by the operator: add "docker_volumes" to '
        "community.session_creation.agent_may_set to let callers choose it"
    )
    message = await locked.error(
        "session_community_create",
        session_name="w",
        launch_method="python",
        python_venv_path="/tmp/venv",
    )
    assert message == (
        'launch_method, python_venv_path are set by the operator: add "launch_method", '
        '"python_venv_path" to community.session_creation.agent_may_set to let callers '
        "choose them"
    )
    assert await _dynamic_sessions(locked) == []


async def test_a_heap_above_the_cap_is_refused(locked: ToolCaller) -> None:
    message = await locked.error("session_community_create", session_name="w", heap_size_gb=64)
    assert message == (
        "heap_size_gb 64 is above the limit of 8 GB set by "
        "community.session_creation.max_heap_size_gb"
    )
    assert await _dynamic_sessions(locked) == []


async def test_the_tool_description_tells_the_agent_what_it_may_set() -> None:
    async with Client(build_systems_server(config=McpConfig())) as client:
        tool = next(t for t in await client.list_tools() if t.name == "session_community_create")
    properties = tool.input_schema["properties"]
    assert "agent_may_set" in (tool.description or "")
    assert "max_heap_size_gb" in properties["heap_size_gb"]["description"]
    for name in ("docker_volumes", "launch_method", "environment_vars", "python_venv_path"):
        assert "agent_may_set" in properties[name]["description"], name
    assert "agent_may_set" not in properties["programming_language"].get("description", "")


async def test_listed_settings_launch_with_the_callers_values(
    engine: FakeDockerEngine, dh_psk_worker: RunningWorker
) -> None:
    engine.mapped_port = dh_psk_worker.port
    engine.images.add(DOCKER_IMAGES["Python"])
    config = _config(
        agent_may_set=["docker_volumes", "auth_token"],
        max_heap_size_gb=2,
        defaults={"startup_retries": 0, "startup_check_interval_seconds": 0.1},
    )
    async with Client(build_systems_server(config=config), timeout=120) as client:
        tools = ToolCaller(client)
        # Not listed: still refused on this server.
        assert "agent_may_set" in await tools.error(
            "session_community_create", session_name="w", extra_jvm_args=["-Dx=1"]
        )
        created = await tools.ok(
            "session_community_create",
            session_name="allowed",
            heap_size_gb=2,
            docker_volumes=["cachevol:/cache"],
            auth_token=TEST_PSK,  # the target worker's PSK, so readiness succeeds for real
        )
        assert created["launch_method"] == "docker" and created["port"] == dh_psk_worker.port
        spec = engine.calls("POST", r"^/containers/create$")[-1].json()
        assert spec["HostConfig"]["Binds"] == ["cachevol:/cache:rw"]
        assert spec["Image"] == DOCKER_IMAGES["Python"]
        assert any(env.startswith("START_OPTS=-Xmx2g ") for env in spec["Env"])
        await tools.ok("session_community_delete", session_name="allowed")
    assert engine.containers == {}

"""``agent_limits.agent_may_set``: the launch settings a caller of ``session_enterprise_create``,
``pq_create`` and ``pq_modify`` may choose on one enterprise system.

By default a caller picks only the name, the language, a heap within ``max_heap_size_gb`` and
a server within ``allowed_servers``; every other launch setting is the operator's
(``session_creation.defaults``) unless ``agent_may_set`` lists it. The policy is one function,
:func:`check_caller`, tested here without Java; then every parameter of every tool through an
MCP client against the wire harness (the real coreplus client), and the Python API.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args

import pytest
from deephaven_enterprise.proto import controller_pb2
from deephaven_enterprise.proto import persistent_query_pb2 as pq_pb
from fastmcp import Client

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config.models import (
    EnterpriseAgentSettable,
    EnterpriseCreationDefaults,
    EnterpriseSystemConfig,
    McpConfig,
)
from deephaven_mcp.enterprise import PqChanges, QueryRequest, WorkerRequest
from deephaven_mcp.enterprise._params import (
    CALLER_CHOICES,
    PQ_DEFAULTED,
    check_caller,
    environment,
    pq_spec,
    python_control,
)
from deephaven_mcp.enterprise._params import schedule as parse_schedule
from deephaven_mcp.errors import LimitExceededError, PermissionDeniedError
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests.enterprise.conftest import make_config
from tests.enterprise.wire.harness import WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

OPERATOR_SET: tuple[str, ...] = get_args(EnterpriseAgentSettable)
KEY = "enterprise.systems.prod.agent_limits.agent_may_set"
TEMPORARY_SCHEDULER = "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerTemporary"
CHANGING = {"addQuery", "modifyQuery", "restartQuery", "stopQuery", "removeQuery"}

# A valid value for each operator-set argument of each tool, as an agent would send it.
SESSION_ARGS: dict[str, Any] = {
    "auto_delete_timeout": 900,
    "engine": "EngineX",
    "extra_jvm_args": ["-javaagent:/tmp/agent.jar"],
    "extra_environment_vars": {"LD_PRELOAD": "/tmp/hook.so"},
    "admin_groups": ["allusers"],
    "viewer_groups": ["allusers"],
    "session_arguments": {"never_timeout": True},
}
LAUNCH_ARGS: dict[str, Any] = {
    name: value
    for name, value in SESSION_ARGS.items()
    if name not in ("session_arguments", "auto_delete_timeout")
}
# The query settings pq_create and pq_modify share (script_path: a file inside the
# configured script_path_roots, see the ``roots`` fixture).
QUERY_ARGS: dict[str, Any] = {
    "extra_class_path": ["/tmp/hook.jar"],
    "python_virtual_environment": {"ephemeral_venv": True, "ephemeral_requirements": "x==1"},
    "jvm_profile": "Large",
    "script_body": "print('hi')",
    "script_path": "/roots/job.py",
    "configuration_type": "RunAndDone",
    "enabled": False,
    "schedule": {"type": "temporary", "auto_delete_timeout": 300},
    "init_timeout_seconds": 5,
    "restart_users": "RU_ADMIN_AND_VIEWERS",
}
PQ_CREATE_ARGS: dict[str, Any] = {**LAUNCH_ARGS, **QUERY_ARGS, "owner": "carol"}
PQ_MODIFY_ARGS: dict[str, Any] = {**LAUNCH_ARGS, **QUERY_ARGS, "auto_delete_timeout": 300}
SCRIPT_FILE_TEXT = "print('from a file')\n"


def refusal(*names: str) -> str:
    quoted = ", ".join(f'"{name}"' for name in names)
    verb, pronoun = ("is", "it") if len(names) == 1 else ("are", "them")
    return (
        f"{', '.join(names)} {verb} set by the operator: add {quoted} to {KEY} "
        f"to let callers choose {pronoun}"
    )


def config(*allowed: str, **limits: Any) -> EnterpriseSystemConfig:
    return make_config(agent_limits={"agent_may_set": list(allowed), **limits})


def worker_request(**given: Any) -> WorkerRequest:
    return WorkerRequest(**given)


def query_request(**given: Any) -> QueryRequest:
    return QueryRequest(**given)


def changes(**given: Any) -> PqChanges:
    """``pq_modify`` arguments as the service hands them to the enterprise layer."""
    converted: dict[str, Any] = {}
    for name, value in given.items():
        if name == "pq_name":
            converted["name"] = value
        elif name == "extra_environment_vars":
            converted[name] = environment(value)
        elif name == "python_virtual_environment":
            converted[name] = python_control(value)
        elif name == "schedule":
            converted[name] = parse_schedule(value)
        elif isinstance(value, list):
            converted[name] = tuple(value)
        else:
            converted[name] = value
    return PqChanges(**converted)


Build = Callable[..., WorkerRequest | QueryRequest | PqChanges]
POLICY_CASES: list[tuple[str, Build, str, Any]] = [
    *(("session", worker_request, name, value) for name, value in SESSION_ARGS.items()),
    *(("pq_create", query_request, name, value) for name, value in PQ_CREATE_ARGS.items()),
    *(("pq_modify", changes, name, value) for name, value in PQ_MODIFY_ARGS.items()),
]
CASE_IDS = [f"{tool}-{name}" for tool, _build, name, _value in POLICY_CASES]


# -- the policy function (no Java) ------------------------------------------------------------


def test_every_argument_is_the_callers_or_an_operator_setting() -> None:
    """A new argument cannot slip past the policy: it is one or the other, and each
    operator setting is an argument of some tool (so the refusal's advice can work)."""
    request_fields = {item.name for item in fields(WorkerRequest)}
    query_fields = {item.name for item in fields(QueryRequest)}
    change_fields = {item.name for item in fields(PqChanges)}
    everything = request_fields | query_fields | change_fields
    assert everything - CALLER_CHOICES == set(OPERATOR_SET)
    assert set(SESSION_ARGS) == request_fields - CALLER_CHOICES
    assert set(PQ_CREATE_ARGS) == query_fields - CALLER_CHOICES
    assert set(PQ_MODIFY_ARGS) == change_fields - CALLER_CHOICES
    assert set(PQ_DEFAULTED) <= set(PQ_CREATE_ARGS)


@pytest.mark.parametrize(("tool", "build", "name", "value"), POLICY_CASES, ids=CASE_IDS)
def test_each_setting_is_refused_by_default(tool: str, build: Build, name: str, value: Any) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        check_caller("prod", config(), build(**{name: value}))
    assert str(caught.value) == refusal(name)


@pytest.mark.parametrize(("tool", "build", "name", "value"), POLICY_CASES, ids=CASE_IDS)
def test_each_setting_is_accepted_once_listed(
    tool: str, build: Build, name: str, value: Any
) -> None:
    check_caller("prod", config(name), build(**{name: value}))


def test_the_exact_text_for_extra_jvm_args() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        check_caller("prod", config(), WorkerRequest(extra_jvm_args=["-javaagent:/a.jar"]))
    assert str(caught.value) == (
        'extra_jvm_args is set by the operator: add "extra_jvm_args" to '
        "enterprise.systems.prod.agent_limits.agent_may_set to let callers choose it"
    )


def test_refusal_names_every_unlisted_argument_and_only_those() -> None:
    request = WorkerRequest(engine="EngineX", extra_jvm_args=["-Dx=1"], admin_groups=["all"])
    with pytest.raises(PermissionDeniedError) as caught:
        check_caller("prod", config("engine"), request)
    assert str(caught.value) == refusal("extra_jvm_args", "admin_groups")
    with pytest.raises(PermissionDeniedError) as several:
        check_caller("prod", config(), changes(script_body="x = 1", viewer_groups=["allusers"]))
    assert str(several.value) == refusal("script_body", "viewer_groups")
    assert "are set by the operator" in str(several.value)
    assert str(several.value).endswith("to let callers choose them")


@pytest.mark.parametrize(
    "request_",
    [
        WorkerRequest(extra_jvm_args=[]),
        WorkerRequest(extra_environment_vars={}),
        WorkerRequest(session_arguments={}),
        PqChanges(admin_groups=()),
        PqChanges(script_body=""),
        PqChanges(enabled=False),
        PqChanges(auto_delete_timeout=0),
    ],
)
def test_an_empty_value_is_still_a_choice(request_: WorkerRequest | PqChanges) -> None:
    with pytest.raises(PermissionDeniedError, match="is set by the operator"):
        check_caller("prod", config(), request_)


def test_policy_comes_before_limits_and_values() -> None:
    """A refused argument is refused even when its value or the heap would fail anyway."""
    capped = config(max_heap_size_gb=4)
    bad = WorkerRequest(extra_jvm_args="-Xmx1g", heap_size_gb=1000, timeout_seconds=99_999)
    with pytest.raises(PermissionDeniedError) as caught:
        check_caller("prod", capped, bad)
    assert str(caught.value) == refusal("extra_jvm_args")


def test_the_callers_own_choices_need_no_listing() -> None:
    limits = config(max_heap_size_gb=4, allowed_servers=["Query_1"])
    check_caller(
        "prod",
        limits,
        WorkerRequest(
            heap_size_gb=4, programming_language="groovy", server="Query_1", timeout_seconds=60
        ),
    )
    check_caller(
        "prod",
        limits,
        PqChanges(name="renamed", heap_size_gb=2, programming_language="Python", server="Query_1"),
    )


def test_a_listed_setting_does_not_lift_the_heap_cap() -> None:
    with pytest.raises(LimitExceededError):
        check_caller(
            "prod",
            config("extra_jvm_args", max_heap_size_gb=4),
            WorkerRequest(extra_jvm_args=["-Dx=1"], heap_size_gb=8),
        )


def test_pq_create_takes_the_operators_launch_settings() -> None:
    defaults = EnterpriseCreationDefaults(
        heap_size_gb=16,
        programming_language="Groovy",
        auto_delete_timeout=600,
        engine="EngineX",
        extra_jvm_args=["-Dcorp=1"],
        extra_environment_vars={"CORP": "1"},
        admin_groups=["ops"],
        viewer_groups=["analysts"],
        timeout_seconds=90,
        session_arguments={"never_timeout": True},
    )
    spec = pq_spec("job", QueryRequest(heap_size_gb=2), defaults)
    assert (spec.engine, spec.extra_jvm_args, spec.extra_environment_vars) == (
        "EngineX",
        ("-Dcorp=1",),
        (("CORP", "1"),),
    )
    assert (spec.admin_groups, spec.viewer_groups) == (("ops",), ("analysts",))
    # The caller's heap (required) and language; no idle deletion: the query stays permanent.
    assert (spec.heap_size_gb, spec.programming_language) == (2.0, None)
    assert spec.auto_delete_timeout is None
    # An argument the operator allows still wins over the default.
    allowed = pq_spec("job", QueryRequest(heap_size_gb=2, extra_jvm_args=["-Dmine=1"]), defaults)
    assert allowed.extra_jvm_args == ("-Dmine=1",)
    assert pq_spec("job", QueryRequest(heap_size_gb=2), None).extra_jvm_args is None


# -- through the MCP client, against the wire harness -------------------------------------------


@pytest.fixture(autouse=True)
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The script_path root the wire tests serve: QUERY_ARGS' file, under tmp_path."""
    root = tmp_path / "roots"
    root.mkdir()
    (root / "job.py").write_text(SCRIPT_FILE_TEXT)
    for table in (PQ_CREATE_ARGS, PQ_MODIFY_ARGS):
        monkeypatch.setitem(table, "script_path", str(root / "job.py"))
    monkeypatch.setitem(_ROOTS, "roots", [str(root)])
    return root


_ROOTS: dict[str, list[str]] = {"roots": []}


@asynccontextmanager
async def serving(
    wire_system: dict[str, Any], *allowed: str, **defaults: Any
) -> AsyncIterator[ToolCaller]:
    system = {
        **wire_system,
        "session_creation": {
            "max_concurrent_sessions": 2,
            "defaults": {"heap_size_gb": 1, **defaults},
        },
        "agent_limits": {"agent_may_set": list(allowed)},
    }
    config = McpConfig.model_validate(
        {
            "enterprise": {"systems": {"prod": system}},
            "security": {"script_path_roots": _ROOTS["roots"]},
        }
    )
    async with Client(build_systems_server(config=config), timeout=120) as client:
        yield ToolCaller(client)


def changed(wire: WireHarness) -> set[str]:
    return set(wire.controller.log.methods()) & CHANGING


def _added(wire: WireHarness) -> Any:
    return wire.controller.log.last("addQuery", controller_pb2.AddQueryRequest).config


def _modified(wire: WireHarness) -> Any:
    return wire.controller.log.last("modifyQuery", controller_pb2.ModifyQueryRequest).config


def _termination_delay(config: Any) -> str:
    return str(json.loads(config.typeSpecificFieldsJson)["TerminationDelay"]["value"])


# How each setting shows in the controller's query config (add or modify).
ON_THE_WIRE: Mapping[str, Callable[[Any], Any]] = {
    "auto_delete_timeout": _termination_delay,
    "engine": lambda config: config.workerKind,
    "extra_jvm_args": lambda config: list(config.extraJvmArguments),
    "extra_environment_vars": lambda config: list(config.extraEnvironmentVariables),
    "admin_groups": lambda config: list(config.adminGroups),
    "viewer_groups": lambda config: list(config.viewerGroups),
    "extra_class_path": lambda config: list(config.classPathAdditions),
    "python_virtual_environment": lambda config: json.loads(config.pythonControl),
    "jvm_profile": lambda config: config.jvmProfile,
    "script_body": lambda config: config.scriptCode,
    "script_path": lambda config: config.scriptCode,  # the file, read on the MCP server
    "configuration_type": lambda config: config.configurationType,
    "enabled": lambda config: config.enabled,
    "schedule": lambda config: list(config.scheduling)[:1],
    "init_timeout_seconds": lambda config: config.timeoutNanos,
    "restart_users": lambda config: config.restartUsers,
    "owner": lambda config: config.owner,
}
EXPECTED: Mapping[str, Any] = {
    "auto_delete_timeout": "900000",
    "engine": "EngineX",
    "extra_jvm_args": ["-javaagent:/tmp/agent.jar"],
    "extra_environment_vars": ["LD_PRELOAD", "/tmp/hook.so"],
    "admin_groups": ["allusers"],
    "viewer_groups": ["allusers"],
    "extra_class_path": ["/tmp/hook.jar"],
    "python_virtual_environment": PQ_MODIFY_ARGS["python_virtual_environment"],
    "jvm_profile": "Large",
    "script_body": "print('hi')",
    "script_path": SCRIPT_FILE_TEXT,
    "configuration_type": "RunAndDone",
    "enabled": False,
    "schedule": [TEMPORARY_SCHEDULER],
    "init_timeout_seconds": 5_000_000_000,
    "restart_users": pq_pb.RU_ADMIN_AND_VIEWERS,
    "owner": "carol",
}


async def test_each_setting_is_refused_by_every_tool_before_the_controller(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    serial = wire.controller.add_query("report")
    async with serving(wire_system) as tools:
        for name, value in SESSION_ARGS.items():
            message = await tools.error(
                "session_enterprise_create", system_name="prod", session_name="w", **{name: value}
            )
            assert message == refusal(name), name
        for name, value in PQ_CREATE_ARGS.items():
            message = await tools.error(
                "pq_create", system_name="prod", pq_name="job", heap_size_gb=1, **{name: value}
            )
            assert message == refusal(name), name
        for name, value in PQ_MODIFY_ARGS.items():
            message = await tools.error(
                "pq_modify", pq_id="enterprise:prod:report", **{name: value}
            )
            assert message == refusal(name), name
        assert await tools.error(
            "pq_modify",
            pq_id="enterprise:prod:report",
            restart=True,
            extra_jvm_args=["-javaagent:/a.jar"],
            extra_environment_vars={"LD_PRELOAD": "/a.so"},
            heap_size_gb=2,
        ) == refusal("extra_jvm_args", "extra_environment_vars")
    assert wire.controller.log.methods() == []  # refused before even connecting
    assert wire.controller.query(serial).config.version == 1


async def test_session_settings_reach_the_controller_once_listed(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    async with serving(wire_system, *SESSION_ARGS) as tools:
        created = await tools.ok(
            "session_enterprise_create", system_name="prod", session_name="w", **SESSION_ARGS
        )
        added = _added(wire)
        for name in LAUNCH_ARGS:  # session_arguments go to the session, not the controller
            assert ON_THE_WIRE[name](added) == EXPECTED[name], name
        assert _termination_delay(added) == "900000"
        listed = await tools.ok("session_tables_list", session_id=created["session_id"])
        assert "simple_people" in listed["table_names"]
        await tools.ok("session_enterprise_delete", system_name="prod", session_name="w")


async def test_pq_create_settings_reach_the_controller_once_listed(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    inline = {name: value for name, value in PQ_CREATE_ARGS.items() if name != "script_path"}
    async with serving(wire_system, *PQ_CREATE_ARGS) as tools:
        await tools.ok("pq_create", system_name="prod", pq_name="job", heap_size_gb=1, **inline)
        added = _added(wire)
        for name in inline:
            assert ON_THE_WIRE[name](added) == EXPECTED[name], name
        assert _termination_delay(added) == "300000"  # the temporary schedule's auto-delete
        from_file = {**inline, "script_body": None, "script_path": PQ_CREATE_ARGS["script_path"]}
        await tools.ok("pq_create", system_name="prod", pq_name="job2", heap_size_gb=1, **from_file)
        assert _added(wire).scriptCode == SCRIPT_FILE_TEXT


async def test_pq_modify_settings_reach_the_controller_once_listed(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    # A temporary query, so that auto_delete_timeout applies to it.
    wire.controller.add_query(
        "report", scheduling=[TEMPORARY_SCHEDULER, "TemporaryAutoDelete=false"]
    )
    expected = {**EXPECTED, "auto_delete_timeout": "300000"}
    async with serving(wire_system, *PQ_MODIFY_ARGS) as tools:
        for name, value in PQ_MODIFY_ARGS.items():
            await tools.ok("pq_modify", pq_id="enterprise:prod:report", **{name: value})
            assert ON_THE_WIRE[name](_modified(wire)) == expected[name], name


async def test_only_the_listed_settings_are_accepted(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    async with serving(wire_system, "extra_jvm_args", "script_body") as tools:
        assert await tools.error(
            "pq_create",
            system_name="prod",
            pq_name="job",
            heap_size_gb=1,
            script_body="x = 1",
            extra_jvm_args=["-Dx=1"],
            admin_groups=["allusers"],
        ) == refusal("admin_groups")
        assert changed(wire) == set()
        await tools.ok(
            "pq_create",
            system_name="prod",
            pq_name="job",
            heap_size_gb=1,
            script_body="x = 1",
            extra_jvm_args=["-Dx=1"],
        )
    assert list(_added(wire).extraJvmArguments) == ["-Dx=1"]


OPERATOR_DEFAULTS: dict[str, Any] = {
    "engine": "EngineX",
    "extra_jvm_args": ["-Dcorp=1"],
    "extra_environment_vars": {"CORP": "1"},
    "admin_groups": ["ops"],
    "viewer_groups": ["analysts"],
}


async def test_operator_defaults_reach_the_controller(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    """Defaults are the operator's own: never refused, though callers may not set them."""
    async with serving(
        wire_system, "script_body", auto_delete_timeout=120, **OPERATOR_DEFAULTS
    ) as tools:
        await tools.ok("session_enterprise_create", system_name="prod", session_name="w")
        worker = _added(wire)
        await tools.ok(
            "pq_create", system_name="prod", pq_name="job", heap_size_gb=2, script_body="x = 1"
        )
        query = _added(wire)
        await tools.ok("session_enterprise_delete", system_name="prod", session_name="w")
    for config in (worker, query):
        assert config.workerKind == "EngineX"
        assert list(config.extraJvmArguments) == ["-Dcorp=1"]
        assert list(config.extraEnvironmentVariables) == ["CORP", "1"]
        assert (list(config.adminGroups), list(config.viewerGroups)) == (["ops"], ["analysts"])
    assert _termination_delay(worker) == "120000"
    # A worker's idle deletion is not a persistent query's: pq_create stays permanent.
    assert TEMPORARY_SCHEDULER not in query.scheduling
    assert "TerminationDelay" not in query.typeSpecificFieldsJson


async def test_allowed_arguments_win_over_operator_defaults(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    async with serving(wire_system, "extra_jvm_args", "script_body", **OPERATOR_DEFAULTS) as tools:
        await tools.ok(
            "pq_create",
            system_name="prod",
            pq_name="job",
            heap_size_gb=1,
            script_body="x = 1",
            extra_jvm_args=["-Dmine=1"],
        )
    added = _added(wire)
    assert list(added.extraJvmArguments) == ["-Dmine=1"]
    assert list(added.adminGroups) == ["ops"]  # not given: still the operator's


async def test_the_tools_say_which_arguments_are_operator_set(
    wire_system: dict[str, Any],
) -> None:
    async with serving(wire_system) as tools:
        described = {tool.name: tool for tool in await tools.client.list_tools()}
    expected = {
        "session_enterprise_create": set(SESSION_ARGS),
        "pq_create": set(PQ_CREATE_ARGS),
        "pq_modify": set(PQ_MODIFY_ARGS),
    }
    for tool_name, operator_set in expected.items():
        tool = described[tool_name]
        assert "agent_limits.agent_may_set" in (tool.description or ""), tool_name
        for name, schema in tool.input_schema["properties"].items():
            says = "agent_may_set" in schema.get("description", "")
            assert says == (name in operator_set), (tool_name, name)


# -- the Python API -------------------------------------------------------------------------------


async def test_the_python_api_is_held_to_the_same_policy(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    serial = wire.controller.add_query("report")
    system = {**wire_system, "agent_limits": {"agent_may_set": ["admin_groups"]}}
    config = McpConfig.model_validate({"enterprise": {"systems": {"prod": system}}})
    async with DeephavenSystems(config=config) as systems:
        with pytest.raises(PermissionDeniedError) as created:
            await systems.session_enterprise_create(
                "prod", "w", extra_environment_vars={"LD_PRELOAD": "/a.so"}
            )
        assert str(created.value) == refusal("extra_environment_vars")
        with pytest.raises(PermissionDeniedError) as added:
            await systems.pq_create(
                "prod", "job", 1, extra_jvm_args=["-javaagent:/a.jar"], admin_groups=["ops"]
            )
        assert str(added.value) == refusal("extra_jvm_args")
        with pytest.raises(PermissionDeniedError) as modified:
            await systems.pq_modify(
                "enterprise:prod:report",
                python_virtual_environment={"ephemeral_venv": True},
                viewer_groups=["allusers"],
            )
        assert str(modified.value) == refusal("python_virtual_environment", "viewer_groups")
        assert changed(wire) == set()
        await systems.pq_modify("enterprise:prod:report", admin_groups=["ops"])
    assert list(_modified(wire).adminGroups) == ["ops"]
    assert wire.controller.query(serial).config.version == 2


def test_requests_are_built_by_keyword_and_refusals_follow_their_fields() -> None:
    with pytest.raises(TypeError):
        WorkerRequest(4.0)  # type: ignore[call-arg]
    request = WorkerRequest(auto_delete_timeout=60, engine="EngineX", session_arguments={})
    with pytest.raises(PermissionDeniedError) as caught:
        check_caller("prod", config(), request)
    # The shared launch settings first, then the worker's own.
    assert str(caught.value) == refusal("engine", "auto_delete_timeout", "session_arguments")

"""The in-process fake answers as the real Core+ client does.

Fast tests run the Enterprise layer on :class:`FakeEnterpriseBackend`, which models the
controller, the auth server and the database in Python. So that it cannot drift into
assumptions the real library does not share (how the Enterprise bugs of issue 10 got
through), each behaviour it models is played here twice through the MCP tools: once on the
fake, once on the real ``deephaven_enterprise`` client against the wire harness. The two
answers must agree once values that identify a particular install (serials, hosts, ports,
times, process ids) are masked.
"""

from __future__ import annotations

import difflib
import gc
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deephaven_enterprise.client.auth import AuthClient
from fastmcp import Client

from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._workers import RunningWorker
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.enterprise.wire.auth_service import PLAIN_PASSWORD, PLAIN_USER
from tests.enterprise.wire.controller_service import StartBehavior
from tests.enterprise.wire.harness import PASSWORD, USERNAME, WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

SYSTEM = "prod"
PLAIN = "plain"  # the same install, logged in as a user who is no superuser
FAILURE = "NameError: name 'undefined_thing' is not defined"
# Values that name one install rather than describe behaviour.
_VOLATILE_KEYS = re.compile(
    r"serial|_nanos$|_time$|time_|worker_host|worker_port|process_info_id"
    r"|host$|port$|_url$|last_modified|created|version$|elapsed|_ms$"
)


@dataclass
class Install:
    """One Enterprise install seen through the tools, and how to seed it with queries."""

    tools: ToolCaller
    add_query: Callable[..., object]  # (name, running, fails_on_start, hangs=False) -> serial
    set_permissions: Callable[..., None]  # (serial, restart_users=..., viewer_groups=...)


def _mask(value: Any, key: str = "") -> Any:
    if _VOLATILE_KEYS.search(key) and value is not None:
        return "<install>"
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(item, key) for item in value]
    if isinstance(value, str):
        value = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", value)  # state times
        return re.sub(r"\d{4,}", "<n>", value)  # serials inside messages
    return value


PASSED_ON = [
    "extra_jvm_args",
    "extra_environment_vars",
    "admin_groups",
    "auto_delete_timeout",
    "script_body",
    "schedule",
]


def _system() -> dict[str, Any]:
    return {
        "connection_json_url": "",  # replaced per install
        "auth_type": "password",
        "username": USERNAME,
        "password": PASSWORD,
        "connection_timeout": 10,
        "session_creation": {"max_concurrent_sessions": 2, "defaults": {"heap_size_gb": 1}},
        # The launch settings the scenarios send, which the operator keeps by default.
        "agent_limits": {"agent_may_set": PASSED_ON},
    }


@pytest.fixture
def fake_backend(dh_worker: RunningWorker) -> Iterator[FakeEnterpriseBackend]:
    gc.collect()
    backend = FakeEnterpriseBackend(
        dh_worker.host, dh_worker.port, users={USERNAME: PASSWORD}, transition_delay=0.05
    )
    yield backend
    gc.collect()
    backend.close()


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A private key file for USERNAME (made by the real client) and its public half."""
    private_text, public_text = AuthClient.generate_keypair(USERNAME)
    path = tmp_path_factory.mktemp("keys") / "priv-alice.base64.txt"
    path.write_text(private_text, encoding="utf-8")
    return path, public_text


def _config(url: str, key_file: Path) -> McpConfig:
    system = {**_system(), "connection_json_url": url}
    by_key = {
        **{key: value for key, value in system.items() if key not in ("username", "password")},
        "auth_type": "private_key",
    }
    plain = {**system, "username": PLAIN_USER, "password": PLAIN_PASSWORD}
    systems = {
        SYSTEM: system,
        PLAIN: plain,
        "badpw": {**system, "password": "not-it"},
        "keyed": {**by_key, "private_key_path": str(key_file)},
        "nokey": {**by_key, "private_key_path": str(key_file.with_name("missing.txt"))},
    }
    return McpConfig.model_validate({"enterprise": {"systems": systems}})


@pytest.fixture
async def on_fake(
    fake_backend: FakeEnterpriseBackend, key_files: tuple[Path, str]
) -> AsyncIterator[Install]:
    def add_query(name: str, running: bool, fails: bool, hangs: bool = False) -> object:
        return fake_backend.add_existing_pq(name, running=running, fail_on_start=fails, hangs=hangs)

    def set_permissions(serial: object, **rights: Any) -> None:
        assert isinstance(serial, int)
        fake_backend.set_permissions(serial, **rights)

    fake_backend.add_plain_user()
    server = build_systems_server(
        config=_config("https://enterprise.test/iris/connection.json", key_files[0]),
        enterprise_backend=fake_backend,
    )
    async with Client(server, timeout=120) as client:
        yield Install(ToolCaller(client), add_query, set_permissions)


@pytest.fixture
async def on_wire(wire: WireHarness, key_files: tuple[Path, str]) -> AsyncIterator[Install]:
    wire.auth.add_public_key(key_files[1])

    def add_query(name: str, running: bool, fails: bool, hangs: bool = False) -> object:
        behavior = StartBehavior.FAIL if fails else StartBehavior.RUN
        serial = wire.controller.add_query(
            name,
            running=running,
            behavior=StartBehavior.HANG if hangs else behavior,
            heap_size_gb=2.0,
        )
        wire.controller.set_behavior(serial, message=FAILURE)
        return serial

    def set_permissions(serial: object, **rights: Any) -> None:
        assert isinstance(serial, int)
        wire.controller.set_permissions(serial, **rights)

    wire.auth.add_plain_user()
    server = build_systems_server(config=_config(wire.connection_json_url, key_files[0]))
    async with Client(server, timeout=120) as client:
        yield Install(ToolCaller(client), add_query, set_permissions)


Scenario = Callable[[Install], Awaitable[list[Any]]]


async def _agree(scenario: Scenario, on_fake: Install, on_wire: Install) -> list[Any]:
    expected = _mask(await scenario(on_wire))
    actual = _mask(await scenario(on_fake))
    if actual != expected:
        diff = difflib.unified_diff(
            json.dumps(expected, indent=1, sort_keys=True).splitlines(),
            json.dumps(actual, indent=1, sort_keys=True).splitlines(),
            "real client over the wire",
            "in-process fake",
            lineterm="",
        )
        pytest.fail("the fake answers differently:\n" + "\n".join(diff), pytrace=False)
    return list(expected)


async def _outcome(tools: ToolCaller, name: str, **arguments: Any) -> dict[str, Any]:
    """The whole envelope, success or not: both sides must fail the same way too."""
    return await tools.call(name, **arguments)


# -- connection --------------------------------------------------------------------------------


async def test_login_outcomes(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        status = await install.tools.ok("enterprise_systems_status", attempt_to_connect=True)
        return sorted(status["systems"], key=lambda system: str(system["name"]))

    statuses = await _agree(scenario, on_fake, on_wire)
    assert [(s["name"], s["status"]) for s in statuses] == [
        ("badpw", "UNAUTHORIZED"),
        ("keyed", "ONLINE"),
        ("nokey", "MISCONFIGURED"),
        (PLAIN, "ONLINE"),
        (SYSTEM, "ONLINE"),
    ]


# -- persistent queries ------------------------------------------------------------------------


async def test_query_lifecycle(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        tools = install.tools
        install.add_query("existing", True, False)
        seen: list[Any] = []
        created = await tools.ok(
            "pq_create",
            system_name=SYSTEM,
            pq_name="etl",
            heap_size_gb=3,
            programming_language="groovy",
            extra_jvm_args=["-Dx=1"],
            extra_environment_vars={"FOO": "bar", "EMPTY": ""},
            admin_groups=["ops"],
            script_body="x = 1",
            schedule={"type": "temporary"},
        )
        seen.append(created)
        seen.append(await tools.ok("pq_details", system_name=SYSTEM, pq_identifier="etl"))
        etl = {"system_name": SYSTEM, "pq_identifier": "etl"}
        seen.append(await tools.ok("pq_start", **etl, timeout_seconds=30))
        seen.append(await tools.ok("pq_restart", **etl))
        seen.append(await tools.ok("pq_start", **etl, timeout_seconds=30))  # already running
        seen.append(await tools.ok("pq_stop", **etl, timeout_seconds=30))
        seen.append(await tools.ok("pq_modify", pq_id=f"enterprise:{SYSTEM}:etl", heap_size_gb=4))
        seen.append(
            await _outcome(
                tools, "pq_modify", pq_id=f"enterprise:{SYSTEM}:etl", auto_delete_timeout=60
            )
        )
        seen.append(await tools.ok("pq_details", system_name=SYSTEM, pq_identifier="etl"))
        listed = await tools.ok("pq_list", system_name=SYSTEM)
        seen.append(sorted((q["name"], q["state"]) for q in listed["pqs"]))
        seen.append(await tools.ok("pq_delete", system_name=SYSTEM, pq_identifier="etl"))
        seen.append(await _outcome(tools, "pq_details", system_name=SYSTEM, pq_identifier="etl"))
        return seen

    await _agree(scenario, on_fake, on_wire)


async def test_a_failing_start(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        install.add_query("broken", False, True)
        tools = install.tools
        return [
            await _outcome(
                tools, "pq_start", system_name=SYSTEM, pq_identifier="broken", timeout_seconds=30
            ),
            await tools.ok("pq_details", system_name=SYSTEM, pq_identifier="broken"),
        ]

    await _agree(scenario, on_fake, on_wire)


async def test_waits_and_batches(on_fake: Install, on_wire: Install) -> None:
    """Each outcome of a wait (reached, failed, timed out) in one list, then stop, restart
    and delete lists, answered per query."""

    async def scenario(install: Install) -> list[Any]:
        install.add_query("good", False, False)
        install.add_query("broken", False, True)
        install.add_query("stuck", False, False, hangs=True)
        tools = install.tools
        names = ["good", "broken", "stuck"]
        on = {"system_name": SYSTEM, "timeout_seconds": 1}
        return [
            await tools.ok("pq_start", **on, pq_identifier=[*names, "ghost"]),
            await tools.ok("pq_stop", **on, pq_identifier=names),
            await tools.ok("pq_restart", **on, pq_identifier=["good"]),
            await _outcome(tools, "pq_restart", **on, pq_identifier="stuck"),
            await tools.ok("pq_stop", **on, pq_identifier="good"),
            await tools.ok("pq_delete", system_name=SYSTEM, pq_identifier=[*names, "ghost"]),
        ]

    await _agree(scenario, on_fake, on_wire)


async def test_restart_permissions(on_fake: Install, on_wire: Install) -> None:
    """A user who is no superuser, refused in errorSerials, then allowed as a viewer."""

    async def scenario(install: Install) -> list[Any]:
        serial = install.add_query("guarded", True, False)
        tools = install.tools
        on = {"system_name": PLAIN, "pq_identifier": "guarded", "timeout_seconds": 5}
        seen = [
            await _outcome(tools, "pq_restart", **on),
            await _outcome(tools, "pq_stop", **on),
        ]
        install.set_permissions(serial, viewer_groups=("allusers",))
        seen.append(await _outcome(tools, "pq_restart", **on))
        install.set_permissions(serial, restart_users="RU_VIEWERS_WHEN_DOWN")
        seen.append(await _outcome(tools, "pq_start", **on))  # running: refused
        await tools.ok("pq_stop", **{**on, "system_name": SYSTEM})
        seen.append(await _outcome(tools, "pq_start", **on))  # down: allowed
        install.set_permissions(serial, restart_users="RU_ADMIN_AND_VIEWERS")
        seen.append(await _outcome(tools, "pq_stop", **on))
        return seen

    seen = await _agree(scenario, on_fake, on_wire)
    assert [entry["success"] for entry in seen] == [False, False, False, False, True, True]


async def test_a_stopped_query_is_not_a_session(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        install.add_query("idle", False, False)
        return [
            await _outcome(
                install.tools, "session_tables_list", session_id=f"enterprise:{SYSTEM}:idle"
            )
        ]

    await _agree(scenario, on_fake, on_wire)


async def test_persistent_query_sessions(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        install.add_query("dash", True, False)
        install.add_query("ops:daily", True, False)  # no valid id carries this name
        tools = install.tools
        await tools.ok("pq_list", system_name=SYSTEM)
        listed = (await tools.ok("sessions_list"))["sessions"]
        details = [
            await tools.ok("session_details", session_id=s["session_id"], attempt_to_connect=True)
            for s in listed
        ]
        return [listed, details]

    await _agree(scenario, on_fake, on_wire)


# -- workers -----------------------------------------------------------------------------------


async def test_worker_create_and_delete(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        tools = install.tools
        created = await tools.ok("session_enterprise_create", system_name=SYSTEM, session_name="w1")
        listed = await tools.ok("pq_list", system_name=SYSTEM)
        details = await tools.ok("session_details", session_id=created["session_id"])
        deleted = await tools.ok("session_enterprise_delete", system_name=SYSTEM, session_name="w1")
        after = await tools.ok("pq_list", system_name=SYSTEM)
        return [
            created,
            sorted((q["name"], q["state"]) for q in listed["pqs"]),
            details,
            deleted,
            after["pqs"],
        ]

    await _agree(scenario, on_fake, on_wire)


# -- catalog -----------------------------------------------------------------------------------


async def test_catalog_reads(on_fake: Install, on_wire: Install) -> None:
    async def scenario(install: Install) -> list[Any]:
        install.add_query("reader", True, False)
        session = f"enterprise:{SYSTEM}:reader"
        tools = install.tools
        return [
            await tools.ok("catalog_tables_list", session_id=session),
            await tools.ok(
                "catalog_tables_list", session_id=session, filters=["Namespace = `MarketUS`"]
            ),
            await tools.ok("catalog_namespaces_list", session_id=session),
            await tools.ok("catalog_tables_schema", session_id=session, namespace="MarketUS"),
            await tools.ok(
                "catalog_tables_schema",
                session_id=session,
                table_names=["Scratch", "Ghost", "Nowhere"],
            ),
            await tools.ok(
                "catalog_table_sample",
                session_id=session,
                namespace="MarketUS",
                table_name="Trades",
                max_rows=3,
                format="json-row",
            ),
            await tools.ok(
                "catalog_table_sample",
                session_id=session,
                namespace="MarketUS",
                table_name="LiveTicks",
                max_rows=2,
                head=False,
            ),
            await _outcome(
                tools,
                "catalog_table_sample",
                session_id=session,
                namespace="Staging",
                table_name="Ghost",
            ),
        ]

    await _agree(scenario, on_fake, on_wire)

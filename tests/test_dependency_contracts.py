"""Every private attribute, internal module or replaced method of a dependency we rely on.

One place lists them all (:data:`RELIANCES`), each checked against the installed version,
offline and without Java. When an upgrade moves one, its test fails with a message naming
the dependency and its version, what moved, the module of ours that relies on it and what to
do. When code starts relying on another package's internals, add an entry here.

The Enterprise client's API as a whole (public names too) is checked by
``tests/enterprise/test_contract.py``; its private members are also listed here.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import importlib.metadata
import inspect
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import pyarrow as pa
import pytest
from fastmcp import FastMCP
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp.clients import finalizers
from deephaven_mcp.enterprise import _coreplus_api as coreplus_api


@dataclass(frozen=True)
class Reliance:
    """Something of a dependency's that our code relies on, and how to check it."""

    dependency: str  # the distribution, whose installed version the message names
    what: str
    used_by: str
    fix: str
    check: Callable[[], None]  # raises AssertionError (or any lookup error) when it moved


def _source_tree(function: Any) -> ast.Module:
    return ast.parse(textwrap.dedent(inspect.getsource(function)))


# -- pydeephaven: the finalizers clients/finalizers.py defers ---------------------------------


def _pydeephaven_finalizer(cls: type) -> Callable[[Any], None]:
    """pydeephaven's own ``cls.__del__`` (under our deferred one, if installed)."""
    method = vars(cls).get("__del__")
    assert method is not None, f"{cls.__name__} no longer defines __del__"
    return cast(Callable[[Any], None], inspect.unwrap(method))


def _check_finalizer(cls: type) -> Callable[[], None]:
    def check() -> None:
        original = _pydeephaven_finalizer(cls)
        assert original.__module__.startswith("pydeephaven"), original.__module__
        assert list(inspect.signature(original).parameters) == ["self"]

    return check


def _check_no_weakref_finalize() -> None:
    package = Path(importlib.import_module("pydeephaven").__file__ or "").parent
    using = [
        path.name
        for path in sorted(package.rglob("*.py"))
        if re.search(r"\bfinalize\b", path.read_text(encoding="utf-8"))
    ]
    assert not using, f"weakref-style finalize appears in {', '.join(using)}"


class _StandInSession:
    """Just what ``Table.__init__`` and ``Table.__del__`` touch of a session."""

    is_alive = True

    def __init__(self) -> None:
        self.released: list[object] = []

    def release(self, ticket: object) -> None:
        self.released.append(ticket)


def _check_schema_none_disarms_table_finalizer() -> None:
    finalize = _pydeephaven_finalizer(Table)
    session = _StandInSession()
    schema = pa.schema([("a", pa.int8())])
    disarmed = Table(cast(Any, session), ticket=cast(Any, "disarmed"), schema=schema)
    disarmed.schema = None  # what clients/shaping.py and enterprise/catalog.py do
    finalize(disarmed)
    assert session.released == [], "a table whose schema is None was still released"
    armed = Table(cast(Any, session), ticket=cast(Any, "armed"), schema=schema)
    finalize(armed)  # the control: a table with a schema is released
    assert session.released == ["armed"], f"released {session.released}, expected ['armed']"


# -- pydeephaven: the Session internals clients/community.py's _abandon uses -------------------

ABANDON_ATTRIBUTES: Final = ("is_connected", "grpc_channel", "_keep_alive_timer", "_flight_client")


def _assigned_self_attributes(function: Any) -> dict[str, str]:
    """``self.<name>`` assigned in ``function``, with its annotation (or '')."""
    found: dict[str, str] = {}
    for node in ast.walk(_source_tree(function)):
        targets: list[ast.expr] = []
        annotation = ""
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets, annotation = [node.target], ast.unparse(node.annotation)
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                found[target.attr] = annotation or found.get(target.attr, "")
    return found


def _check_session_attributes() -> None:
    attributes = _assigned_self_attributes(Session.__init__)
    missing = [name for name in ABANDON_ATTRIBUTES if name not in attributes]
    assert not missing, f"Session.__init__ no longer sets {missing}"
    assert "Timer" in attributes["_keep_alive_timer"], attributes["_keep_alive_timer"]
    assert "FlightClient" in attributes["_flight_client"], attributes["_flight_client"]


def _check_keep_alive_checks_the_flag_first() -> None:
    function = next(
        node
        for node in ast.walk(_source_tree(Session._keep_alive))
        if isinstance(node, ast.FunctionDef)
    )
    body = function.body
    flag_check = next(
        (
            index
            for index, node in enumerate(body)
            if isinstance(node, ast.If)
            and "self.is_connected" in ast.unparse(node.test)
            and any(isinstance(item, ast.Return) for item in node.body)
        ),
        None,
    )
    rearm = next(
        (
            index
            for index, node in enumerate(body)
            if "self._keep_alive_timer = " in ast.unparse(node)
        ),
        None,
    )
    assert flag_check is not None, "Session._keep_alive no longer returns when not is_connected"
    assert rearm is not None, "Session._keep_alive no longer re-arms self._keep_alive_timer"
    assert flag_check < rearm, "Session._keep_alive re-arms its timer before checking the flag"


# -- pydeephaven: services from its private modules --------------------------------------------


def _check_console_service() -> None:
    console = importlib.import_module("pydeephaven._console_service").ConsoleService
    assert isinstance(inspect.getattr_static(Session, "console_service"), property)
    parameters = list(inspect.signature(console.run_script).parameters)
    assert parameters[:2] == ["self", "server_script"], parameters
    returns = [
        node
        for node in ast.walk(_source_tree(console.run_script))
        if isinstance(node, ast.Return) and node.value is not None
    ]
    assert returns, "ConsoleService.run_script no longer returns the ExecuteCommandResponse"
    proto = importlib.import_module("deephaven_core.proto.console_pb2")
    response = proto.ExecuteCommandResponse.DESCRIPTOR
    assert {"error_message", "changes"} <= set(response.fields_by_name)
    changes = response.fields_by_name["changes"].message_type
    assert {"created", "updated", "removed"} <= set(changes.fields_by_name)
    info = changes.fields_by_name["created"].message_type
    assert {"field_name", "typed_ticket"} <= set(info.fields_by_name)
    assert "type" in info.fields_by_name["typed_ticket"].message_type.fields_by_name


def _check_config_service() -> None:
    config = importlib.import_module("pydeephaven._config_service").ConfigService
    assert isinstance(inspect.getattr_static(Session, "config_service"), property)
    assert list(inspect.signature(config.get_configuration_constants).parameters) == ["self"]
    proto = importlib.import_module("deephaven_core.proto.config_pb2")
    assert "string_value" in proto.ConfigValue.DESCRIPTOR.fields_by_name


# -- fastmcp: what serving/stdio.py's serve_stdio copies of FastMCP.run_stdio_async ------------


def _check_lifespan_manager() -> None:
    manager = inspect.getattr_static(FastMCP, "_lifespan_manager")
    assert list(inspect.signature(manager).parameters) == ["self"]
    server: Any = FastMCP("contract")

    async def enter_and_leave() -> None:
        async with server._lifespan_manager():
            pass

    asyncio.run(enter_and_leave())


def _check_low_level_server() -> None:
    low_level = FastMCP("contract")._mcp_server
    inspect.signature(low_level.run).bind("read_stream", "write_stream", "initialization_options")
    assert low_level.create_initialization_options() is not None


def _check_transport_context() -> None:
    context = importlib.import_module("fastmcp.server.context")
    token = context.set_transport("stdio")
    context.reset_transport(token)


def _check_run_stdio_async_unchanged() -> None:
    source = inspect.getsource(FastMCP.run_stdio_async)
    for step in (
        'set_transport("stdio")',
        "self._lifespan_manager()",
        "self._mcp_server.run(",
        "self._mcp_server.create_initialization_options()",
        "reset_transport(token)",
    ):
        assert step in source, f"FastMCP.run_stdio_async no longer does {step}"


# -- pyarrow: the memory pool serving/process.py chooses at server start-up --------------------


def _check_arrow_pool_variable() -> None:
    code = (
        "import os; os.environ['ARROW_DEFAULT_MEMORY_POOL'] = 'system'\n"
        "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    backend = done.stdout.strip()
    assert backend == "system", f"with the variable set before import, the pool is {backend!r}"


# -- deephaven-coreplus-client: the private members enterprise/adapter.py uses ------------------

ENTERPRISE_PRIVATE_MEMBERS: Final = (
    "ControllerClient._req_with_authentication_retry",
    "DndSession._owned_pq_serial",
)


def _check_coreplus_member(path: str) -> Callable[[], None]:
    def check() -> None:
        member = next(m for m in coreplus_api.USED_API if m.path == path)
        owner_name, name = path.split(".")
        owner = getattr(importlib.import_module(member.module), owner_name)
        if name in getattr(owner, "__annotations__", {}):
            return  # an instance attribute declared on the class
        target = getattr(owner, name)
        if member.params:
            parameters = inspect.signature(target).parameters
            missing = [p for p in member.params if p not in parameters]
            assert not missing, f"{path} lost parameters {missing}"

    return check


_FINALIZERS_FIX: Final = (
    "pydeephaven's cleanup may now run from the garbage collector again (an RPC there "
    "deadlocks the channel): defer whatever replaced __del__ in clients/finalizers.py, or "
    "drop the patch if pydeephaven no longer calls the server from a finalizer"
)

RELIANCES: Final[tuple[Reliance, ...]] = (
    Reliance(
        "pydeephaven",
        "Table.__del__ (a method, not weakref.finalize)",
        "deephaven_mcp.clients.finalizers (defer_pydeephaven_finalizers)",
        _FINALIZERS_FIX,
        _check_finalizer(Table),
    ),
    Reliance(
        "pydeephaven",
        "Session.__del__ (a method, not weakref.finalize)",
        "deephaven_mcp.clients.finalizers (defer_pydeephaven_finalizers)",
        _FINALIZERS_FIX,
        _check_finalizer(Session),
    ),
    Reliance(
        "pydeephaven",
        "no weakref.finalize callbacks (they would bypass the deferred __del__)",
        "deephaven_mcp.clients.finalizers (defer_pydeephaven_finalizers)",
        _FINALIZERS_FIX,
        _check_no_weakref_finalize,
    ),
    Reliance(
        "pydeephaven",
        "Table.__del__ releases nothing once table.schema is None",
        "deephaven_mcp.clients.shaping (_release), deephaven_mcp.enterprise.catalog "
        "(_Tables.close)",
        "after a failed table.close() they set schema to None so the finalizer does not try "
        "again from the collector; find what now disarms it (or track failed tables) there",
        _check_schema_none_disarms_table_finalizer,
    ),
    Reliance(
        "pydeephaven",
        f"Session attributes {', '.join(ABANDON_ATTRIBUTES)}",
        "deephaven_mcp.clients.community (_abandon, after a failed close)",
        "_abandon quietly does nothing for a missing one, so a closed session of a dead "
        "worker keeps its keep-alive timer (tests/clients/test_community_close.py); use the "
        "new names there",
        _check_session_attributes,
    ),
    Reliance(
        "pydeephaven",
        "Session._keep_alive stops when is_connected is False",
        "deephaven_mcp.clients.community (_abandon clears the flag to stop the timer)",
        "stop the keep-alive another way in _abandon (cancelling the timer alone races with "
        "its next tick)",
        _check_keep_alive_checks_the_flag_first,
    ),
    Reliance(
        "pydeephaven",
        "Session.console_service (pydeephaven._console_service.ConsoleService.run_script "
        "returning the ExecuteCommandResponse: error_message, changes)",
        "deephaven_mcp.clients.scripts (_execute, _forget, the change report)",
        "scripts need the engine's error text and change set, which Session.run_script does "
        "not return; find where the new version exposes the response and use it there",
        _check_console_service,
    ),
    Reliance(
        "pydeephaven",
        "Session.config_service (pydeephaven._config_service.ConfigService."
        "get_configuration_constants, values with string_value)",
        "deephaven_mcp.clients.community (probe, server_constants)",
        "use the new way to read the worker's configuration constants there",
        _check_config_service,
    ),
    Reliance(
        "fastmcp",
        "FastMCP._lifespan_manager() (an async context manager)",
        "deephaven_mcp.serving.stdio (serve_stdio)",
        "see how FastMCP.run_stdio_async now enters the server's lifespan and do the same in "
        "serve_stdio",
        _check_lifespan_manager,
    ),
    Reliance(
        "fastmcp",
        "FastMCP._mcp_server (run(read, write, options), create_initialization_options())",
        "deephaven_mcp.serving.stdio (serve_stdio)",
        "see how FastMCP.run_stdio_async now runs the MCP server loop and do the same in "
        "serve_stdio",
        _check_low_level_server,
    ),
    Reliance(
        "fastmcp",
        "fastmcp.server.context.set_transport / reset_transport",
        "deephaven_mcp.serving.stdio (serve_stdio)",
        "see how FastMCP.run_stdio_async now marks the transport and do the same in serve_stdio",
        _check_transport_context,
    ),
    Reliance(
        "fastmcp",
        "FastMCP.run_stdio_async's steps around the server loop",
        "deephaven_mcp.serving.stdio (serve_stdio copies them with its own streams)",
        "compare serve_stdio with the new FastMCP.run_stdio_async and follow what changed",
        _check_run_stdio_async_unchanged,
    ),
    Reliance(
        "pyarrow",
        "ARROW_DEFAULT_MEMORY_POOL, read when pyarrow loads",
        "deephaven_mcp.serving.process (arrow_uses_the_system_allocator)",
        "without it the server keeps freed answers in mimalloc's pool; set the pool with "
        "pyarrow.set_memory_pool at the server's first read instead",
        _check_arrow_pool_variable,
    ),
    *(
        Reliance(
            "deephaven-coreplus-client",
            path,
            "deephaven_mcp.enterprise.adapter (declared in enterprise/_coreplus_api.py)",
            "read the new client's source for the replacement and update the adapter and its "
            "declaration",
            _check_coreplus_member(path),
        )
        for path in ENTERPRISE_PRIVATE_MEMBERS
    ),
)


def _message(reliance: Reliance, problem: str) -> str:
    version = importlib.metadata.version(reliance.dependency)
    return (
        f"{reliance.dependency} {version} changed {reliance.what}: {problem}\n"
        f"  relied on by: {reliance.used_by}\n"
        f"  to do: {reliance.fix}"
    )


@pytest.mark.parametrize("reliance", RELIANCES, ids=lambda r: f"{r.dependency}: {r.what}")
def test_dependency_still_provides(reliance: Reliance) -> None:
    try:
        reliance.check()
    except (
        AssertionError,
        AttributeError,
        ImportError,
        KeyError,
        OSError,  # no source to read
        StopIteration,
        TypeError,
        ValueError,
    ) as exc:
        pytest.fail(_message(reliance, str(exc) or type(exc).__name__), pytrace=False)


def test_deferring_replaces_both_finalizers() -> None:
    finalizers.defer_pydeephaven_finalizers()
    assert set(finalizers.FINALIZED_CLASSES) == {Table, Session}, "list the new class above"
    for cls in finalizers.FINALIZED_CLASSES:
        assert finalizers.is_deferred(cls), (
            f"after defer_pydeephaven_finalizers(), pydeephaven's {cls.__name__}.__del__ is "
            "not the deferred one: its cleanup can deadlock a gRPC channel from the collector"
        )


def test_every_private_coreplus_member_is_listed_here() -> None:
    private = {
        member.path
        for member in coreplus_api.USED_API
        if any(part.startswith("_") for part in member.path.split("."))
    }
    assert private == set(ENTERPRISE_PRIVATE_MEMBERS), (
        "enterprise/_coreplus_api.py declares private coreplus members "
        f"{sorted(private)}; list each in ENTERPRISE_PRIVATE_MEMBERS with what to do when it moves"
    )

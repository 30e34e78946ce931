"""Fixtures shared by the systems-server tests.

``tools`` and ``systems`` (with ``pydh`` from ``tests/conftest.py``) serve a module whose tests read the test worker through
one configured session, ``community:config:anon`` (``ANON``). A module tunes them with
module-level names:

* ``SETUP``: a script ``pydh`` runs on the worker before any of them is used, and
  ``SETUP_TABLES``: the names it creates, deleted when the module is done;
* ``READ_ONLY = True``: the server (and ``systems``) run in read-only mode.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pyarrow as pa
import pytest
from pydeephaven import Session

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config import McpConfig
from tests._workers import RunningWorker
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.mcp_systems_server._helpers import ToolCaller, arrow, mcp_tools, session_config


@pytest.fixture(scope="module")
def fake(dh_worker: RunningWorker) -> Iterator[FakeEnterpriseBackend]:
    """The in-process Core+ fake, handing out real sessions to the test worker.

    Garbage is collected on the test thread while every session is open (a pydeephaven
    table freed by the collector on a gRPC thread would deadlock its channel).
    """
    gc.collect()
    backend = FakeEnterpriseBackend(dh_worker.host, dh_worker.port, transition_delay=0.1)
    yield backend
    gc.collect()
    backend.close()


@pytest.fixture(scope="module")
def trades(pydh: Session) -> pa.Table:
    """The worker's demo table ``trades``, read with pydeephaven."""
    return arrow(pydh, "trades")


def _module_config(request: pytest.FixtureRequest, worker: RunningWorker) -> dict[str, Any]:
    """The one-session config; runs the module's ``SETUP`` first when it has one."""
    if hasattr(request.module, "SETUP"):
        request.getfixturevalue("pydh")
    return {"community": {"sessions": {"anon": session_config(worker)}}}


@pytest.fixture(scope="module")
async def tools(
    request: pytest.FixtureRequest,
    dh_worker: RunningWorker,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ToolCaller]:
    """Tools called through a real MCP client on an in-process server (session ``anon``)."""
    async with mcp_tools(
        tmp_path_factory.mktemp("cfg") / "deephaven_mcp.json",
        _module_config(request, dh_worker),
        read_only=getattr(request.module, "READ_ONLY", False),
        timeout=300,
    ) as caller:
        yield caller


@pytest.fixture(scope="module")
async def systems(
    request: pytest.FixtureRequest, dh_worker: RunningWorker
) -> AsyncIterator[DeephavenSystems]:
    """The Python API on the same one-session config as ``tools``."""
    config = McpConfig.model_validate(_module_config(request, dh_worker))
    read_only = getattr(request.module, "READ_ONLY", False)
    async with DeephavenSystems(config=config, read_only=read_only) as found:
        yield found


# The fake Docker Engine, and the wire-level harness (fake auth server, controller and
# worker proxy for the real client).
from tests.enterprise.wire.fixtures import (  # noqa: E402, F401
    wire,
    wire_database,
    wire_system,
    wire_tls,
)
from tests.launchers.fake_docker import engine  # noqa: E402, F401

"""Fixtures: an EnterpriseSystem over the in-process fake backend and the real test worker."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from deephaven_mcp.config.models import EnterpriseSystemConfig
from deephaven_mcp.enterprise import EnterpriseSystem
from tests._workers import RunningWorker
from tests.enterprise.fake_backend import FakeEnterpriseBackend

PASSWORD = "s3cret-pw"


def make_config(**overrides: Any) -> EnterpriseSystemConfig:
    """A password-auth system; ``overrides`` replace or add fields (validated like a file)."""
    data: dict[str, Any] = {
        "connection_json_url": "https://enterprise.test/iris/connection.json",
        "auth_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "connection_timeout": 5,
        "session_creation": {"max_concurrent_sessions": 2, "defaults": {"heap_size_gb": 2}},
    }
    data.update(overrides)
    return EnterpriseSystemConfig.model_validate({k: v for k, v in data.items() if v is not None})


@pytest.fixture
def fake(dh_worker: RunningWorker) -> Iterator[FakeEnterpriseBackend]:
    # pydeephaven releases a Table in __del__; a table left in cyclic garbage that the
    # collector happens to free on gRPC's channel thread deadlocks that channel. Collect
    # here, on the test thread, while every session is still open.
    gc.collect()
    backend = FakeEnterpriseBackend(dh_worker.host, dh_worker.port)
    yield backend
    gc.collect()
    backend.close()


@asynccontextmanager
async def open_system(
    fake: FakeEnterpriseBackend, **overrides: Any
) -> AsyncIterator[EnterpriseSystem]:
    """System ``prod`` over ``fake`` (config: ``make_config(**overrides)``), closed after."""
    enterprise = EnterpriseSystem("prod", make_config(**overrides), fake, operation_timeout=30)
    try:
        yield enterprise
    finally:
        await enterprise.close()


@pytest.fixture
async def system(fake: FakeEnterpriseBackend) -> AsyncIterator[EnterpriseSystem]:
    async with open_system(fake) as enterprise:
        yield enterprise


# The wire-level harness: fake auth server, controller and worker proxy for the real client.
from tests.enterprise.wire.fixtures import (  # noqa: E402, F401
    wire,
    wire_database,
    wire_system,
    wire_tls,
)

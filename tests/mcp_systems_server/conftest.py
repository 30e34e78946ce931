"""Fixtures shared by the systems-server tests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests._workers import RunningWorker
from tests.enterprise.fake_backend import FakeEnterpriseBackend


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


# The wire-level harness (fake auth server, controller and worker proxy for the real client).
from tests.enterprise.wire.fixtures import (  # noqa: E402, F401
    wire,
    wire_database,
    wire_system,
    wire_tls,
)

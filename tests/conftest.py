"""Shared fixtures: real Deephaven workers, started once per test session."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
from pydeephaven import Session

from tests._workers import RunningWorker, start_worker

TEST_PSK = "test-psk-4b1d0c9e"


@pytest.fixture(scope="session")
def dh_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    """An anonymous worker with every demo table."""
    worker = start_worker(tmp_path_factory.mktemp("dh-anon"), table_group="all")
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def dh_psk_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    """A PSK-protected worker with the simple demo tables."""
    worker = start_worker(tmp_path_factory.mktemp("dh-psk"), psk=TEST_PSK, table_group="simple")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def pydh(request: pytest.FixtureRequest, dh_worker: RunningWorker) -> Iterator[Session]:
    """A plain pydeephaven session on ``dh_worker``, after the module's ``SETUP`` script;
    the names in the module's ``SETUP_TABLES`` are deleted when the module is done.

    Tests check answers against what it reads (or against the engine's own operations).
    """
    session = Session(host=dh_worker.host, port=dh_worker.port)
    try:
        session.run_script(request.module.SETUP)
        yield session
        session.run_script(f"del {', '.join(request.module.SETUP_TABLES)}")
    finally:
        gc.collect()
        session.close()


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers under test record their workers in a temporary directory, not ~/.cache."""
    previous = os.environ.get("DH_MCP_STATE_DIR")
    os.environ["DH_MCP_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield
    if previous is None:
        os.environ.pop("DH_MCP_STATE_DIR", None)
    else:
        os.environ["DH_MCP_STATE_DIR"] = previous


WORKER_FIXTURES = frozenset({"dh_worker", "dh_psk_worker"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs a real worker (even through another fixture) is an integration test.

    So ``pytest -m "not integration"`` is the fast tier: pure policy code, no Java.
    """
    for item in items:
        if WORKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)

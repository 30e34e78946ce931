"""Fixtures for the wire harness (imported by ``tests/enterprise/conftest.py``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from pydeephaven import Session

from tests._workers import RunningWorker
from tests.enterprise.catalog_data import PublishedCatalog
from tests.enterprise.wire.harness import WireHarness
from tests.enterprise.wire.tls import TlsMaterial, make_tls_material
from tests.enterprise.wire.worker_proxy import PSK_AUTH


@pytest.fixture(scope="session")
def wire_tls() -> TlsMaterial:
    """One throwaway CA and server certificate per test session."""
    return make_tls_material()


@pytest.fixture(scope="session")
def wire_database(dh_psk_worker: RunningWorker) -> Iterator[PublishedCatalog]:
    """The test catalog, published once on the PSK worker for every harness to serve."""
    session = Session(
        host=dh_psk_worker.host,
        port=dh_psk_worker.port,
        auth_type=PSK_AUTH,
        auth_token=dh_psk_worker.psk or "",
    )
    catalog = PublishedCatalog(session)
    yield catalog
    gc.collect()
    catalog.close()


@pytest.fixture
def wire(
    dh_psk_worker: RunningWorker, wire_tls: TlsMaterial, wire_database: PublishedCatalog
) -> Iterator[WireHarness]:
    """A fresh fake Enterprise install whose workers are the PSK test worker."""
    assert dh_psk_worker.psk is not None
    # pydeephaven frees tables in __del__; collect on this thread, not a gRPC one (see conftest).
    gc.collect()
    harness = WireHarness(
        dh_psk_worker.host, dh_psk_worker.port, dh_psk_worker.psk, tls=wire_tls
    ).start()
    harness.proxy.database = {key: ticket.bytes for key, ticket in wire_database.tickets.items()}
    try:
        yield harness
        # Every client the test opened must be closed: a leaked SessionManager keeps pinging
        # and re-subscribing from its threads, a leaked worker session keeps refreshing its
        # token, and both raise in a later test once these servers are gone.
        harness.logged_out(timeout=5 if harness.check_clients_closed else 0.5)
        leaked = harness.close_leaked_clients()
        assert not leaked or not harness.check_clients_closed, (
            f"{leaked} client(s) were left open against the fake Enterprise server"
        )
    finally:
        gc.collect()
        harness.close()


@pytest.fixture
def wire_system(wire: WireHarness) -> dict[str, Any]:
    """An ``EnterpriseSystemConfig``-compatible dict for :func:`wire` (password login)."""
    return wire.system_config()

"""A session is closed only when no thread is using it."""

from __future__ import annotations

import threading
import time

from deephaven_mcp.clients.leases import close_when_idle, leased, wait_until_idle


class Client:
    def __init__(self) -> None:
        self.closed_at: float | None = None

    def close(self) -> None:
        self.closed_at = time.monotonic()


def test_close_waits_for_the_lease_to_end() -> None:
    client = Client()
    started = threading.Event()
    released_at: list[float] = []

    def user() -> None:
        with leased(client):
            started.set()
            time.sleep(0.3)
            released_at.append(time.monotonic())

    thread = threading.Thread(target=user)
    thread.start()
    started.wait()
    close_when_idle(client, Client.close, timeout=5, what="test client")
    thread.join()
    assert client.closed_at is not None and client.closed_at >= released_at[0]


def test_a_client_still_busy_after_the_grace_period_stays_open() -> None:
    client = Client()
    with leased(client):
        close_when_idle(client, Client.close, timeout=0.1, what="test client")
        assert client.closed_at is None
    assert wait_until_idle(client, 0)


def test_nested_leases_count() -> None:
    client = Client()
    with leased(client), leased(client):
        assert not wait_until_idle(client, 0)
    assert wait_until_idle(client, 0)

"""Decide when a launched worker is ready: it reports a port and a real pydeephaven
connection with the right authentication succeeds.

Sessions are opened and closed the one way the package does it
(:mod:`deephaven_mcp.clients.community`), so the probe's sessions get the same safe
finalizers and the same quiet close as every other session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from pydantic import SecretStr

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import CommunityEndpoint
from deephaven_mcp.errors import DeephavenTimeoutError
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.runtime.logging import redact

if TYPE_CHECKING:
    from pydeephaven import Session

_log = logging.getLogger(__name__)

PROBE_TIMEOUT: Final = 15.0
SCRIPT_TIMEOUT: Final = 300.0


class WorkerExitedError(Exception):
    """The worker process or container ended before it became ready."""


class WorkerAuthError(Exception):
    """The worker is serving but rejected the launcher's credentials."""


class StartupHandle(Protocol):
    """What the readiness loop needs from a starting worker."""

    async def check_port(self) -> int | None:
        """The serving port once known; raises WorkerExitedError if the worker is gone."""
        ...


@dataclass(frozen=True)
class ProbeResult:
    """One readiness probe: connected, or why not (and whether the credentials were refused)."""

    ok: bool
    detail: str = ""
    auth_rejected: bool = False


def _open_session(
    host: str, port: int, auth_type: AuthType, token: str | None, language: str = "python"
) -> Session:
    # Imported here: pydeephaven loads only when a launch first probes a worker.
    from deephaven_mcp.clients.community import open_session

    endpoint = CommunityEndpoint(
        host=host,
        port=port,
        auth_type=auth_type,
        auth_token=SecretStr(token) if token else None,
        never_timeout=False,
        session_type=language,  # type: ignore[arg-type]  # checked by the model
    )
    return open_session(endpoint)


def _close(session: Session) -> None:
    from deephaven_mcp.clients.community import close_session

    close_session(session)


def _probe(host: str, port: int, auth_type: AuthType, token: str | None) -> ProbeResult:
    try:
        session = _open_session(host, port, auth_type, token)
    except Exception as exc:  # a refused connection is an answer, not an error
        text = _error_chain(exc)
        rejected = "UNAUTHENTICATED" in text
        return ProbeResult(False, redact(text)[-500:], auth_rejected=rejected)
    _close(session)
    return ProbeResult(True)


def _error_chain(exc: BaseException) -> str:
    """Every exception in ``exc``'s chain, outermost first (gRPC's status is deep inside)."""
    from deephaven_mcp.clients.errors import causes

    return " <- ".join(f"{type(item).__name__}: {item}" for item in causes(exc))


async def probe_connection(
    host: str, port: int, auth_type: AuthType, token: str | None, timeout: float = PROBE_TIMEOUT
) -> ProbeResult:
    """Open and close one real pydeephaven session; never raises for a refused connection."""
    try:
        return await call_blocking("readiness probe", timeout, _probe, host, port, auth_type, token)
    except DeephavenTimeoutError as exc:
        return ProbeResult(False, str(exc))


def _run_script(
    host: str, port: int, auth_type: AuthType, token: str | None, script: str, language: str
) -> None:
    session = _open_session(host, port, auth_type, token, language)
    try:
        session.run_script(script)
    finally:
        _close(session)


async def run_worker_script(
    host: str,
    port: int,
    auth_type: AuthType,
    token: str | None,
    script: str,
    language: str = "python",
    timeout: float = SCRIPT_TIMEOUT,
) -> None:
    """Run ``script`` in the worker's global scope through a client session."""
    await call_blocking(
        "init script", timeout, _run_script, host, port, auth_type, token, script, language
    )


async def wait_until_ready(
    handle: StartupHandle,
    *,
    host: str,
    auth_type: AuthType,
    token: str | None,
    timeout: float,
    interval: float,
    on_tick: Callable[[float], Awaitable[None]] | None = None,
) -> int:
    """Poll until the worker reports a port and accepts a real connection; return the port.

    Raises DeephavenTimeoutError after ``timeout`` seconds, WorkerExitedError if the worker
    dies, WorkerAuthError if it refuses the credentials.
    """
    started = time.monotonic()
    deadline = started + timeout
    last_detail = "no port reported yet"
    while True:
        port = await handle.check_port()
        if port is not None:
            remaining = max(deadline - time.monotonic(), 0.5)
            result = await probe_connection(
                host, port, auth_type, token, min(PROBE_TIMEOUT, remaining)
            )
            if result.ok:
                return port
            if result.auth_rejected:
                raise WorkerAuthError(result.detail)
            last_detail = result.detail or f"port {port} not accepting connections"
        now = time.monotonic()
        if now >= deadline:
            _log.debug("startup timed out; last readiness detail: %s", last_detail)
            raise DeephavenTimeoutError(f"worker was not ready after {timeout:g} s")
        if on_tick is not None:
            await on_tick(min((now - started) / timeout, 1.0))
        await asyncio.sleep(min(interval, max(deadline - now, 0.0)))

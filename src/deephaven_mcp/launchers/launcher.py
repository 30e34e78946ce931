"""``launch_worker``: start a worker (python or docker), wait until it really serves, retry.

Retry semantics: one attempt plus ``startup_retries`` more. An attempt fails when the worker
exits early, is not ready within ``startup_timeout_seconds``, or docker refuses the
container; whatever it started is then stopped and removed before the next attempt.
Configuration problems (bad venv, unreachable Docker daemon, unknown image) and a worker
that rejects the launcher's credentials fail at once: retrying cannot help. The final error
is short; the worker's log tail (redacted) is logged at DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.errors import DeephavenTimeoutError, SessionUnavailableError
from deephaven_mcp.launchers.docker_launcher import StartFailedError, start_docker_worker
from deephaven_mcp.launchers.docker_spec import container_name
from deephaven_mcp.launchers.instance_tracker import InstanceTracker, TrackedWorker
from deephaven_mcp.launchers.models import LaunchRequest
from deephaven_mcp.launchers.python_launcher import start_python_worker
from deephaven_mcp.launchers.readiness import (
    WorkerAuthError,
    WorkerExitedError,
    run_worker_script,
    wait_until_ready,
)
from deephaven_mcp.launchers.worker import LaunchedWorker
from deephaven_mcp.runtime.logging import register_secret

_log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], Awaitable[None]]
PROGRESS_TIMEOUT: Final = 5.0
FAILED_STOP_GRACE: Final = 0.0  # a worker that never became ready is killed outright


class _Started(Protocol):
    async def check_port(self) -> int | None: ...

    async def log_tail(self) -> str: ...

    async def stop(self, timeout: float) -> None: ...

    async def is_running(self) -> bool: ...


class _AttemptFailure(Exception):
    """One attempt failed; ``timed_out`` picks the final error class."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


def generate_token() -> str:
    """A fresh pre-shared key: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


class _Progress:
    """Maps each attempt's phase fractions into its share of [0, 1] and only ever reports
    increasing values (MCP progress notifications must increase)."""

    def __init__(self, callback: ProgressCallback | None, attempts: int) -> None:
        self.callback = callback
        self.attempts = attempts
        self.attempt = 1
        self.last = -1.0

    async def __call__(self, message: str, fraction: float) -> None:
        share = min(max(fraction, 0.0), 1.0)
        overall = 1.0 if share >= 1.0 else (self.attempt - 1 + share) / self.attempts
        if self.callback is None or overall <= self.last:
            return
        self.last = overall
        try:
            await asyncio.wait_for(self.callback(message, overall), PROGRESS_TIMEOUT)
        except Exception as exc:  # progress is best effort; never fail a launch over it
            _log.debug("progress callback failed: %s", exc)


async def launch_worker(
    request: LaunchRequest,
    tracker: InstanceTracker,
    on_progress: ProgressCallback | None = None,
) -> LaunchedWorker:
    """Start a worker for ``request`` and return it once a real client connection succeeds.

    Raises DeephavenTimeoutError (never ready in time), SessionUnavailableError (worker
    exited or refused the credentials), DependencyMissingError / InvalidArgumentError
    (environment or request problems).
    """
    started = time.monotonic()
    attempts = 1 + request.startup_retries
    progress = _Progress(on_progress, attempts)
    token = request.auth_token
    generated = False
    if request.auth_type is AuthType.PSK and token is None:
        token = generate_token()
        generated = True
    register_secret(token)
    last: _AttemptFailure | None = None
    for attempt in range(1, attempts + 1):
        label = f" (attempt {attempt}/{attempts})" if attempts > 1 else ""
        progress.attempt = attempt
        await progress(
            f"Starting {request.launch_method} worker for '{request.session_name}'{label}", 0.02
        )
        try:
            worker = await _attempt(request, tracker, token, progress, label, started)
        except _AttemptFailure as failure:
            last = failure
            _log.info(
                "session %r start-up attempt %d failed: %s",
                request.session_name,
                attempt,
                failure.reason,
            )
            continue
        worker.token_generated = generated
        await progress(f"Session '{request.session_name}' ready on port {worker.port}", 1.0)
        return worker
    assert last is not None
    message = (
        f"session '{request.session_name}' did not start after {attempts} attempt(s): {last.reason}"
    )
    if last.timed_out:
        raise DeephavenTimeoutError(message)
    raise SessionUnavailableError(message)


async def _attempt(
    request: LaunchRequest,
    tracker: InstanceTracker,
    token: str | None,
    progress: _Progress,
    label: str,
    started: float,
) -> LaunchedWorker:
    key = tracker.new_worker_key(request.session_name)
    handle: _Started | None = None
    pid: int | None = None
    container_id: str | None = None
    log_path: Path | None = None
    try:
        if request.launch_method == "python":
            worker_dir = await tracker.worker_dir(key)
            python = await start_python_worker(
                request,
                token,
                instance_id=tracker.instance_id,
                worker_dir=worker_dir,
                state_dir=tracker.state_dir,
            )
            handle, pid, log_path = python, python.pid, python.log_path
            tracker.track_starting(key, python)
            entry = TrackedWorker(
                key=key,
                session_name=request.session_name,
                launch_method="python",
                pid=python.pid,
                create_time=python.create_time,
                marker=python.marker,
            )
            await tracker.register(entry)
        else:
            entry = TrackedWorker(
                key=key,
                session_name=request.session_name,
                launch_method="docker",
                container_name=container_name(request.session_name, tracker.instance_id),
            )
            await tracker.register(entry)

            async def pulling(message: str) -> None:
                await progress(message, 0.05)

            container = await start_docker_worker(
                request, token, instance_id=tracker.instance_id, key=key, on_progress=pulling
            )
            handle, container_id = container, container.container_id
            tracker.track_starting(key, container)
            await tracker.update(key, container_id=container_id)

        await progress(f"Waiting for '{request.session_name}' to accept connections{label}", 0.1)

        async def tick(fraction: float) -> None:
            await progress(
                f"Waiting for '{request.session_name}' to accept connections{label}",
                0.1 + 0.8 * fraction,
            )

        port = await wait_until_ready(
            handle,
            host=request.connect_host,
            auth_type=request.auth_type,
            token=token,
            timeout=request.startup_timeout_seconds,
            interval=request.startup_check_interval_seconds,
            on_tick=tick,
        )
        if request.launch_method == "docker" and request.init_script is not None:
            await progress(f"Running the init script in '{request.session_name}'", 0.92)
            await run_worker_script(
                request.connect_host,
                port,
                request.auth_type,
                token,
                request.init_script,
                request.programming_language.lower(),
            )
    except (WorkerExitedError, DeephavenTimeoutError, StartFailedError, WorkerAuthError) as exc:
        await _log_tail(request, handle)
        await _discard(tracker, key, handle)
        if isinstance(exc, WorkerAuthError):
            raise SessionUnavailableError(
                f"session '{request.session_name}' started but rejected the launcher's credentials"
            ) from None
        raise _AttemptFailure(str(exc), timed_out=isinstance(exc, DeephavenTimeoutError)) from None
    except BaseException:
        await _discard(tracker, key, handle)
        raise
    worker = LaunchedWorker(
        session_name=request.session_name,
        launch_method=request.launch_method,
        host=request.connect_host,
        port=port,
        auth_type=request.auth_type,
        auth_token=token,
        pid=pid,
        container_id=container_id,
        started_at=datetime.now(UTC),
        startup_seconds=time.monotonic() - started,
        key=key,
        log_path=log_path,
        _control=handle,
        _on_stopped=_forget(tracker),
    )
    if tracker.closed:  # the server began shutting down while this worker started
        await worker.stop(FAILED_STOP_GRACE)
        raise SessionUnavailableError("the MCP server is shutting down; the session was stopped")
    tracker.adopt(worker)
    _log.info(
        "session %r ready on port %d after %.1f s",
        request.session_name,
        port,
        worker.startup_seconds,
    )
    return worker


def _forget(tracker: InstanceTracker) -> Callable[[LaunchedWorker], Awaitable[None]]:
    async def forget(worker: LaunchedWorker) -> None:
        await tracker.unregister(worker.key)

    return forget


async def _log_tail(request: LaunchRequest, handle: _Started | None) -> None:
    if handle is None or not _log.isEnabledFor(logging.DEBUG):
        return
    try:
        tail = await handle.log_tail()
    except Exception as exc:
        tail = f"(log unavailable: {exc})"
    _log.debug("last worker output of session %r:\n%s", request.session_name, tail)


async def _discard(tracker: InstanceTracker, key: str, handle: _Started | None) -> None:
    """Kill what one failed attempt started and forget it; shielded from cancellation."""

    async def discard() -> None:
        if handle is not None:
            try:
                await handle.stop(FAILED_STOP_GRACE)
            except Exception as exc:
                _log.warning("could not clean up a failed start-up: %s", exc)
                return  # keep the record: the next start-up's orphan cleanup retries
        await tracker.unregister(key)

    try:
        await asyncio.shield(discard())
    except Exception as exc:
        _log.debug("cleanup after a failed start-up failed: %s", exc)

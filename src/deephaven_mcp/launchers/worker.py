"""A launched, ready worker and how to stop it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from pydantic import SecretStr

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import CommunityEndpoint
from deephaven_mcp.launchers.models import LaunchMethod


class WorkerControl(Protocol):
    """Method-specific way to stop and observe a worker (process or container)."""

    async def stop(self, timeout: float) -> None:
        """Stop it, forcibly once ``timeout`` seconds of grace have passed."""
        ...

    async def is_running(self) -> bool:
        """Whether it is still running."""
        ...


@dataclass(eq=False, kw_only=True)
class LaunchedWorker:
    """A Deephaven Community worker started by :func:`launch_worker` and serving on ``port``."""

    session_name: str
    launch_method: LaunchMethod
    host: str
    port: int
    auth_type: AuthType
    auth_token: str | None = field(repr=False)
    pid: int | None
    container_id: str | None
    started_at: datetime
    # True when the launcher generated auth_token (the access banner is then worth printing).
    token_generated: bool = False
    # Seconds from the launch_worker call until the worker answered a real connection.
    startup_seconds: float = 0.0
    # Unique per launch; the instance tracker's key for this worker.
    key: str = ""
    log_path: Path | None = None
    _control: WorkerControl = field(repr=False)
    _on_stopped: Callable[[LaunchedWorker], Awaitable[None]] | None = field(
        default=None, repr=False
    )
    _stop_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _stopped: bool = field(default=False, repr=False)
    banner_printed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.auth_type = AuthType(self.auth_type)  # accept any spelling, keep the singleton

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` has completed."""
        return self._stopped

    def endpoint(self, session_type: Literal["python", "groovy"] = "python") -> CommunityEndpoint:
        """How clients reach this worker (its language is the caller's to say)."""
        return CommunityEndpoint(
            host=self.host,
            port=self.port,
            auth_type=self.auth_type,
            auth_token=SecretStr(self.auth_token) if self.auth_token else None,
            session_type=session_type,
        )

    @property
    def base_url(self) -> str:
        """The worker's HTTP URL."""
        return self.endpoint().base_url

    @property
    def browser_url(self) -> str:
        """URL that opens the web IDE already authenticated (PSK) or plainly (anonymous)."""
        return self.endpoint().browser_url

    @property
    def client_auth_type(self) -> str:
        """The ``auth_type`` argument pydeephaven's ``Session`` expects."""
        return self.auth_type.client

    async def stop(self, timeout: float = 30) -> None:
        """Stop the worker: python gets SIGTERM then SIGKILL after ``timeout`` seconds; docker
        containers are stopped (same grace period) and removed. Calling it again is a no-op."""
        async with self._stop_lock:
            if self._stopped:
                return
            await self._control.stop(timeout)
            self._stopped = True
        if self._on_stopped is not None:
            await self._on_stopped(self)

    async def is_running(self) -> bool:
        """Whether the worker still runs (False once stopped, without asking it)."""
        if self._stopped:
            return False
        return await self._control.is_running()

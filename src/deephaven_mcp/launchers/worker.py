"""A launched, ready worker and how to stop it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from deephaven_mcp.launchers.models import (
    ANONYMOUS_HANDLER,
    PSK_HANDLER,
    AuthType,
    LaunchMethod,
)


class WorkerControl(Protocol):
    """Method-specific way to stop and observe a worker (process or container)."""

    async def stop(self, timeout: float) -> None: ...

    async def is_running(self) -> bool: ...


def format_base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


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

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def base_url(self) -> str:
        return format_base_url(self.host, self.port)

    @property
    def browser_url(self) -> str:
        """URL that opens the web IDE already authenticated (PSK) or plainly (anonymous)."""
        if self.auth_type == "PSK" and self.auth_token:
            return f"{self.base_url}/?psk={quote(self.auth_token, safe='')}"
        return f"{self.base_url}/"

    @property
    def auth_handler(self) -> str:
        """The server-side authentication handler class."""
        return PSK_HANDLER if self.auth_type == "PSK" else ANONYMOUS_HANDLER

    @property
    def client_auth_type(self) -> str:
        """The ``auth_type`` argument pydeephaven's ``Session`` expects."""
        return PSK_HANDLER if self.auth_type == "PSK" else "Anonymous"

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
        if self._stopped:
            return False
        return await self._control.is_running()

"""One registry entry: a lazily opened pydeephaven session that heals itself.

The client is opened on first use and cached. When a call fails, a cheap probe tells a
broken connection (worker restarted or gone) from an ordinary error; on a broken
connection the cached client is dropped, a new one is opened and a read is retried
once, so agents never need ``mcp_reload`` after a worker restart. Code (scripts, and
anything that runs code on the worker) is never retried: it may have run before the
connection broke, and running it twice could repeat its effects.

Data and script calls take one of the session's ``Timeouts.max_calls_per_session`` slots
(see :mod:`.session_calls`) and a work-lane thread; control calls (worker information
for ``session_details``) take neither, so they answer while the session is saturated.

The pydeephaven client functions are imported where a connection is used, so building the
registry at start-up loads no client library.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from deephaven_mcp.clients.leases import call_leased, close_when_idle
from deephaven_mcp.errors import (
    DeephavenMcpError,
    DeephavenTimeoutError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    SessionUnavailableError,
)
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager.session_calls import SessionCalls
from deephaven_mcp.resource_manager.session_id import SessionId
from deephaven_mcp.runtime.blocking import (
    CONTROL_LANE,
    WORK_LANE,
    call_blocking,
    call_blocking_owned,
)

if TYPE_CHECKING:
    from pydeephaven import Session

T = TypeVar("T")
_log = logging.getLogger(__name__)

# Errors that describe the request, not the connection: never worth a reconnect.
_REQUEST_ERRORS = (InvalidArgumentError, NotFoundError, LimitExceededError)


class ManagedSession(ABC):
    """Base for community and enterprise sessions held by the registry."""

    #: Created at runtime (not from the config file), so ``mcp_reload`` keeps it.
    survives_reload = False

    def __init__(self, session_id: SessionId, programming_language: str, timeouts: Timeouts):
        self.session_id = session_id
        self.programming_language = programming_language
        self.timeouts = timeouts
        self._client: Session | None = None
        self._lock = asyncio.Lock()
        self._core_version: str | None = None
        self._last_error: str | None = None
        self.calls = SessionCalls()

    @abstractmethod
    async def _open(self) -> Session:
        """Open a new client (called with the session lock held)."""

    def summary(self) -> dict[str, Any]:
        """Cheap description for ``sessions_list`` (no network)."""
        return {
            "session_id": str(self.session_id),
            "type": self.session_id.type,
            "source": self.session_id.source,
            "session_name": self.session_id.name,
        }

    def extra_details(self) -> dict[str, Any]:
        """Subclass-specific fields for ``session_details``."""
        return {}

    @property
    def enterprise_version(self) -> str | None:
        """The Core+ version of an enterprise worker; None for Community Core."""
        return None

    async def client(self) -> Session:
        """The cached client, opened on first use."""
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await self._open()
                except SessionUnavailableError as exc:
                    self._last_error = str(exc)
                    raise
                self._last_error = None
            return self._client

    async def run(
        self,
        action: str,
        fn: Callable[[Session], T],
        timeout: float,
        *,
        retry: bool,
        control: bool = False,
    ) -> T:
        """Run ``fn(client)`` in a thread; if the connection broke, reconnect and (``retry``
        only) run it once more.

        ``retry`` is required so every caller decides: True only for reads, which are safe to
        repeat; False for anything that runs code on the worker. ``control`` marks a cheap
        status read that must answer even when the session's data and script slots are full.
        """
        client = await self.client()
        try:
            return await self._call(action, fn, client, timeout, control)
        except _REQUEST_ERRORS:
            raise
        except Exception as exc:
            if await self._alive(client):
                raise
            await self._discard(client)
            if isinstance(exc, DeephavenTimeoutError):
                raise
            if not retry:
                raise _not_retried(action, exc) from exc
            _log.info("%s: connection lost; reconnecting and retrying once", self.session_id)
            client = await self.client()
            return await self._call(action, fn, client, timeout, control)

    async def _call(
        self,
        action: str,
        fn: Callable[[Session], T],
        client: Session,
        timeout: float,
        control: bool,
    ) -> T:
        if control:
            return await call_blocking_owned(
                action, timeout, functools.partial(call_leased, fn, client), lane=CONTROL_LANE
            )
        limit = self.timeouts.max_calls_per_session
        await self.calls.take(str(self.session_id), limit, min(self.timeouts.session_busy, timeout))
        return await call_blocking_owned(
            action,
            timeout,
            functools.partial(call_leased, fn, client),
            lane=WORK_LANE,
            on_exit=self.calls.give_back,
        )

    async def _alive(self, client: Session) -> bool:
        from deephaven_mcp.clients.community import probe

        try:
            return await call_blocking(
                "Probing the worker", self.timeouts.probe, call_leased, probe, client
            )
        except DeephavenTimeoutError:
            return False

    async def _discard(self, client: Session) -> None:
        async with self._lock:
            if self._client is client:
                self._client = None
        await self._close_client(client)

    async def _close_client(self, client: Session) -> None:
        from deephaven_mcp.clients.community import close_session

        # Waits for calls still running on this client (even timed-out ones) to finish.
        grace = self.timeouts.close
        try:
            await call_blocking(
                "Closing a session",
                grace * 2,
                close_when_idle,
                client,
                close_session,
                grace,
                str(self.session_id),
            )
        except DeephavenTimeoutError:
            _log.debug("%s: closing the old client timed out", self.session_id)

    async def close(self) -> None:
        """Close the client (the worker itself keeps running)."""
        async with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await self._close_client(client)

    async def shutdown(self) -> None:
        """Release everything this entry owns; subclasses that own a worker stop it too."""
        await self.close()

    async def details(self, attempt_to_connect: bool) -> dict[str, Any]:
        """Status for ``session_details``; connects only when asked to."""
        from deephaven_mcp.clients.community import server_constants

        info = self.summary()
        available = self._client is not None
        if attempt_to_connect:
            try:
                constants = await self.run(
                    "Reading worker information",
                    server_constants,
                    self.timeouts.probe,
                    retry=True,
                    control=True,
                )
                self._core_version = constants.get("deephaven.version") or self._core_version
                available = True
            except (SessionUnavailableError, DeephavenTimeoutError) as exc:
                self._last_error = str(exc)
                available = False
        info.update(
            available=available,
            programming_language=self.programming_language,
            deephaven_core_version=self._core_version,
            deephaven_enterprise_version=self.enterprise_version,
        )
        if not available and self._last_error:
            info["last_error"] = self._last_error
        info.update(self.extra_details())
        return info


def _not_retried(action: str, error: Exception) -> SessionUnavailableError:
    """The connection broke during a call that must not run twice: say so, and why."""
    reason = str(error) if isinstance(error, DeephavenMcpError) else "the call failed"
    return SessionUnavailableError(
        f"{reason}. The connection to the worker was lost during '{action}', which was not "
        "retried because it may already have run; check the worker's state before running it "
        "again (the next call reconnects)"
    )

"""The registry of sessions the server knows about, guarded by an asyncio lock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from deephaven_mcp.errors import NotFoundError
from deephaven_mcp.resource_manager.managed_session import ManagedSession
from deephaven_mcp.resource_manager.session_id import SessionId

_log = logging.getLogger(__name__)

# Resolves ids the registry does not hold (e.g. running persistent queries). What a resolver
# returns is not cached: its owner (an enterprise system) stays the source of truth, so a
# stopped or deleted query never lingers here.
SessionResolver = Callable[[SessionId], Awaitable[ManagedSession | None]]


class SessionRegistry:
    """Maps session ids to sessions; a failing session never affects the others."""

    def __init__(self) -> None:
        self._sessions: dict[SessionId, ManagedSession] = {}
        self._lock = asyncio.Lock()
        self._resolvers: list[SessionResolver] = []

    def add_resolver(self, resolver: SessionResolver) -> None:
        """Ask ``resolver`` for ids the registry does not hold, after earlier resolvers."""
        self._resolvers.append(resolver)

    def sessions(self) -> list[ManagedSession]:
        """A snapshot, sorted by id."""
        return [self._sessions[key] for key in sorted(self._sessions)]

    def find(self, session_id: SessionId) -> ManagedSession | None:
        """The registered session, or None; resolvers are not asked."""
        return self._sessions.get(session_id)

    async def get(self, session_id: SessionId | str) -> ManagedSession:
        """The session for ``session_id``, or NotFoundError listing what exists."""
        sid = session_id if isinstance(session_id, SessionId) else SessionId.parse(session_id)
        async with self._lock:
            found = self._sessions.get(sid)
        if found is None:
            # Resolvers may talk to the network: run them without holding the lock.
            for resolver in self._resolvers:
                found = await resolver(sid)
                if found is not None:
                    break
        if found is None:
            known = ", ".join(str(key) for key in sorted(self._sessions)[:20]) or "none"
            raise NotFoundError(f"session '{sid}' not found; known sessions: {known}")
        return found

    async def add(self, session: ManagedSession) -> None:
        """Register a new session; ValueError if its id is taken."""
        async with self._lock:
            if session.session_id in self._sessions:
                raise ValueError(f"session '{session.session_id}' already exists")
            self._sessions[session.session_id] = session

    async def pop(self, session_id: SessionId) -> ManagedSession | None:
        """Unregister and return the session, or None; the caller shuts it down."""
        async with self._lock:
            return self._sessions.pop(session_id, None)

    async def replace_configured(self, sessions: Iterable[ManagedSession]) -> None:
        """Swap the config-file sessions (community:config:*) for new ones.

        Sessions created at runtime (``survives_reload``) stay registered; only their client
        connections are closed so that they reconnect with fresh state.
        """
        async with self._lock:
            old = dict(self._sessions)
            self._sessions = {key: value for key, value in old.items() if value.survives_reload}
            for session in sessions:
                self._sessions[session.session_id] = session
        await _close_all(old.values())

    async def shutdown(self) -> None:
        """Close every client and stop every worker this server launched."""
        async with self._lock:
            old, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(_safe(session.shutdown(), session) for session in old))


async def _safe(awaitable: Awaitable[None], session: ManagedSession) -> None:
    try:
        await awaitable
    except Exception as exc:
        _log.warning("%s: error while closing: %s", session.session_id, type(exc).__name__)
        _log.debug("close failure", exc_info=exc)


async def _close_all(sessions: Iterable[ManagedSession]) -> None:
    await asyncio.gather(*(_safe(session.close(), session) for session in sessions))

"""Enterprise sessions: workers created by this server and running persistent queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager.managed_session import ManagedSession
from deephaven_mcp.resource_manager.session_calls import SessionCalls
from deephaven_mcp.resource_manager.session_id import SessionId

if TYPE_CHECKING:
    # Sessions of this kind exist only once an enterprise system is open, so the (heavy)
    # enterprise package is loaded by then; annotations alone do not need it.
    from pydeephaven import Session

    from deephaven_mcp.enterprise import EnterpriseSessionInfo, EnterpriseSystem

# A new EnterpriseSession is built for every call (see below), so the per-session call
# count lives with the system, keyed by session name; it goes away with the system.
_calls: WeakKeyDictionary[EnterpriseSystem, dict[str, SessionCalls]] = WeakKeyDictionary()


def _shared_calls(system: EnterpriseSystem, name: str) -> SessionCalls:
    return _calls.setdefault(system, {}).setdefault(name, SessionCalls())


class EnterpriseSession(ManagedSession):
    """``enterprise:<system>:<name>``; the system owns and validates the connection.

    The client is never cached here: a persistent query can be stopped, restarted or deleted
    behind our back, and the system closes its connection when that happens. Using a closed
    pydeephaven session crashes inside gRPC, so every call asks the system, which checks the
    query's current state in its (local) subscription map first.
    """

    def __init__(self, system: EnterpriseSystem, info: EnterpriseSessionInfo, timeouts: Timeouts):
        super().__init__(
            SessionId("enterprise", system.name, info.session_name),
            (info.programming_language or "python").lower(),
            timeouts,
        )
        self.system = system
        self.info = info
        self.calls = _shared_calls(system, info.session_name)

    async def _open(self) -> Session:
        return await self.system.get_session(self.session_id.name)

    async def client(self) -> Session:
        """The system's current client for this session, asked for on every call."""
        return await self._open()

    async def _close_client(self, client: Session) -> None:
        # Never close the system's connection behind its back: ask it to forget it instead.
        self.system.release_session(self.session_id.name)

    @property
    def enterprise_version(self) -> str | None:
        """The Core+ version the controller reports for the worker (engineVersion)."""
        return self.info.engine_version

    def summary(self) -> dict[str, Any]:
        """The base summary plus the kind: a created worker or a persistent query."""
        return {**super().summary(), "kind": self.info.kind}

    async def details(self, attempt_to_connect: bool) -> dict[str, Any]:
        """Fresh state from the controller; without connecting, available means RUNNING."""
        self.info = await self.system.session_info(self.session_id.name)
        info = await super().details(attempt_to_connect)
        if not attempt_to_connect:
            info["available"] = self.info.state == "RUNNING"
        info.update(kind=self.info.kind, state=self.info.state)
        if self.info.serial is not None:
            info["serial"] = self.info.serial
        return info

"""The configured enterprise systems, kept across reloads when their config is unchanged.

The enterprise client code (pydeephaven, grpc, httpx; coreplus on first use) loads when the
first system is configured, so a server without enterprise systems never imports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from deephaven_mcp.config.models import EnterpriseSystemConfig
from deephaven_mcp.enterprise import EnterpriseBackend
from deephaven_mcp.errors import DeephavenMcpError, NotFoundError
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import ManagedSession, SessionId
from deephaven_mcp.resource_manager.enterprise_session import EnterpriseSession

if TYPE_CHECKING:
    from deephaven_mcp.enterprise import EnterpriseSystem

_log = logging.getLogger(__name__)


class EnterpriseSystems:
    """Name -> :class:`EnterpriseSystem`; also resolves ``enterprise:*`` session ids."""

    def __init__(self, timeouts: Timeouts, backend: EnterpriseBackend | None = None) -> None:
        self._timeouts = timeouts
        self._backend = backend
        self._systems: dict[str, EnterpriseSystem] = {}

    def names(self) -> list[str]:
        return sorted(self._systems)

    def get(self, name: str) -> EnterpriseSystem:
        system = self._systems.get(name)
        if system is None:
            known = ", ".join(self.names()) or "none configured"
            raise NotFoundError(f"enterprise system '{name}' not found; known systems: {known}")
        return system

    async def apply(self, configs: Mapping[str, EnterpriseSystemConfig]) -> None:
        """Adopt a new configuration; systems whose settings changed are reopened."""
        kept: dict[str, EnterpriseSystem] = {}
        retired: list[EnterpriseSystem] = []
        for name, system in self._systems.items():
            if configs.get(name) == system.config:
                kept[name] = system
            else:
                retired.append(system)
        for name, config in configs.items():
            if name not in kept:
                kept[name] = self._open(name, config)
        self._systems = kept
        if retired:
            _log.info(
                "closing enterprise systems removed or changed in the config: %s",
                ", ".join(system.name for system in retired),
            )
            await asyncio.gather(*(self._close(system) for system in retired))

    def _open(self, name: str, config: EnterpriseSystemConfig) -> EnterpriseSystem:
        from deephaven_mcp.enterprise import CoreplusBackend, EnterpriseSystem

        if self._backend is None:
            self._backend = CoreplusBackend()
        return EnterpriseSystem(name, config, self._backend, operation_timeout=self._timeouts.data)

    async def resolve(self, session_id: SessionId) -> ManagedSession | None:
        """A session for ``enterprise:<system>:<name>``: a created worker or a running PQ."""
        if session_id.type != "enterprise":
            return None
        system = self.get(session_id.source)
        info = await system.session_info(session_id.name)
        return EnterpriseSession(system, info, self._timeouts)

    async def session_summaries(self) -> list[dict[str, Any]]:
        """Created workers and running PQs of every system that is already connected."""

        async def one(system: EnterpriseSystem) -> list[dict[str, Any]]:
            try:
                infos = await system.list_sessions(attempt_to_connect=False)
            except DeephavenMcpError as exc:
                _log.info("listing sessions of %s failed: %s", system.name, exc)
                return []
            return [
                {
                    "session_id": info.session_id,
                    "type": "enterprise",
                    "source": system.name,
                    "session_name": info.session_name,
                    "kind": info.kind,
                }
                for info in infos
            ]

        results = await asyncio.gather(*(one(s) for s in self._systems.values()))
        return [summary for group in results for summary in group]

    async def status(self, attempt_to_connect: bool) -> list[dict[str, Any]]:
        reports = await asyncio.gather(
            *(system.status(attempt_to_connect) for system in self._systems.values())
        )
        return [
            {
                "name": report.name,
                "status": str(report.status),
                "detail": report.detail,
                "is_alive": report.is_alive,
                "config": report.config,
            }
            for report in sorted(reports, key=lambda item: item.name)
        ]

    async def close(self) -> None:
        systems, self._systems = list(self._systems.values()), {}
        await asyncio.gather(*(self._close(system) for system in systems))

    @staticmethod
    async def _close(system: EnterpriseSystem) -> None:
        try:
            await system.close()
        except Exception as exc:
            _log.warning("closing enterprise system %s failed: %s", system.name, type(exc).__name__)

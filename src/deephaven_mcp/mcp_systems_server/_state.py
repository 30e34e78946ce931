"""Everything the systems server's tools share: config, session registry, reload lock."""

from __future__ import annotations

import asyncio
import logging

from deephaven_mcp.clients.timeouts import Timeouts
from deephaven_mcp.config import McpConfig, load_config
from deephaven_mcp.enterprise import EnterpriseBackend
from deephaven_mcp.mcp_systems_server._community import DEMO_SESSION, CommunitySessions
from deephaven_mcp.mcp_systems_server._enterprise import EnterpriseSystems
from deephaven_mcp.resource_manager import (
    CommunitySession,
    ManagedSession,
    SessionId,
    SessionRegistry,
)
from deephaven_mcp.resource_manager.session_id import DYNAMIC_SOURCE

_log = logging.getLogger(__name__)
DEMO_ID = SessionId.community(DYNAMIC_SOURCE, DEMO_SESSION)


def _report_demo(task: asyncio.Task[object]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is None:
        _log.info("demo worker ready as %s", DEMO_ID)
    else:
        _log.error("the demo worker failed to start: %s", error)


class SystemsServerState:
    """Owned by one server instance; created by the factory, started by the lifespan."""

    def __init__(
        self,
        config_path: str | None = None,
        *,
        config: McpConfig | None = None,
        timeouts: Timeouts | None = None,
        demo: bool = False,
        enterprise_backend: EnterpriseBackend | None = None,
    ) -> None:
        self.config_path = config_path
        self._initial_config = config
        self.config = config or McpConfig()
        self.timeouts = timeouts or Timeouts.from_env()
        self.registry = SessionRegistry()
        self.reload_lock = asyncio.Lock()
        self.demo = demo
        self.community = CommunitySessions(self.registry, self.timeouts)
        self.enterprise = EnterpriseSystems(self.timeouts, enterprise_backend)
        self._demo_task: asyncio.Task[object] | None = None
        self.registry.add_resolver(self._resolve_demo)
        self.registry.add_resolver(self.enterprise.resolve)

    async def start(self) -> None:
        """Load the configuration (unless preloaded) and register its sessions."""
        config = self._initial_config or await load_config(self.config_path)
        self._initial_config = None
        await self._apply(config)
        await self.community.start()
        if self.demo:
            # The worker takes a while to start; tools that need it wait for it.
            self._demo_task = asyncio.create_task(self.community.launch_demo())
            self._demo_task.add_done_callback(_report_demo)

    async def reload(self) -> None:
        """Re-read the config file and rebuild the configured sessions atomically.

        An invalid file raises ConfigError and leaves the running configuration untouched.
        """
        async with self.reload_lock:
            config = await load_config(self.config_path)
            if config.security.http != self.config.security.http:
                _log.warning(
                    "security.http changed in the configuration file; HTTP authentication "
                    "and allowed hosts/origins change only when the server restarts"
                )
            await self._apply(config)
            _log.info("configuration reloaded; %d sessions", len(self.registry.sessions()))

    async def _resolve_demo(self, session_id: SessionId) -> ManagedSession | None:
        if self._demo_task is None or session_id != DEMO_ID:
            return None
        await self.wait_for_demo()
        return self.registry.find(session_id)

    async def wait_for_demo(self) -> None:
        """Block until the demo worker (if any) is registered; surface its failure."""
        if self._demo_task is not None:
            await asyncio.shield(self._demo_task)

    async def shutdown(self) -> None:
        _log.info("shutting down: closing %d sessions", len(self.registry.sessions()))
        if self._demo_task is not None and not self._demo_task.done():
            self._demo_task.cancel()
        await self.registry.shutdown()
        await asyncio.gather(self.community.shutdown(), self.enterprise.close())

    async def _apply(self, config: McpConfig) -> None:
        self.config = config
        sessions: list[ManagedSession] = [
            CommunitySession.from_config(name, session_config, self.timeouts)
            for name, session_config in config.community.sessions.items()
        ]
        await self.registry.replace_configured(sessions)
        await self.enterprise.apply(config.enterprise.systems)

    async def list_sessions(self) -> list[dict[str, object]]:
        """Summaries of every registered session (no network)."""
        await self.wait_for_demo()
        # The registry holds community sessions; enterprise systems list their own.
        summaries = [session.summary() for session in self.registry.sessions()]
        summaries += await self.enterprise.session_summaries()
        return sorted(summaries, key=lambda summary: str(summary["session_id"]))

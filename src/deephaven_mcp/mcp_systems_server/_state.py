"""Everything the systems server's tools share: config, session registry, reload lock."""

from __future__ import annotations

import asyncio
import logging

from deephaven_mcp.clients.timeouts import Timeouts
from deephaven_mcp.config import McpConfig, load_config
from deephaven_mcp.resource_manager import CommunitySession, ManagedSession, SessionRegistry

_log = logging.getLogger(__name__)


class SystemsServerState:
    """Owned by one server instance; created by the factory, started by the lifespan."""

    def __init__(
        self,
        config_path: str | None = None,
        *,
        config: McpConfig | None = None,
        timeouts: Timeouts | None = None,
        demo: bool = False,
    ) -> None:
        self.config_path = config_path
        self._initial_config = config
        self.config = config or McpConfig()
        self.timeouts = timeouts or Timeouts.from_env()
        self.registry = SessionRegistry()
        self.reload_lock = asyncio.Lock()
        self.demo = demo

    async def start(self) -> None:
        """Load the configuration (unless preloaded) and register its sessions."""
        config = self._initial_config or await load_config(self.config_path)
        self._initial_config = None
        await self._apply(config)

    async def reload(self) -> None:
        """Re-read the config file and rebuild the configured sessions atomically.

        An invalid file raises ConfigError and leaves the running configuration untouched.
        """
        async with self.reload_lock:
            config = await load_config(self.config_path)
            await self._apply(config)
            _log.info("configuration reloaded; %d sessions", len(self.registry.sessions()))

    async def shutdown(self) -> None:
        await self.registry.shutdown()

    async def _apply(self, config: McpConfig) -> None:
        self.config = config
        sessions: list[ManagedSession] = [
            CommunitySession.from_config(name, session_config, self.timeouts)
            for name, session_config in config.community.sessions.items()
        ]
        await self.registry.replace_configured(sessions)

    async def list_sessions(self) -> list[dict[str, object]]:
        """Summaries of every registered session (no network)."""
        return [session.summary() for session in self.registry.sessions()]

    async def enterprise_status(self, attempt_to_connect: bool) -> list[dict[str, object]]:
        """Status of each configured enterprise system."""
        if not self.config.enterprise.systems:
            return []
        from deephaven_mcp._errors import DependencyMissingError

        raise DependencyMissingError("enterprise systems are not supported by this build yet")

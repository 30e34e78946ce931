"""Community sessions whose worker this server launched (``community:dynamic:<name>``)."""

from __future__ import annotations

from typing import Any, Literal

from deephaven_mcp.launchers import LaunchedWorker
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager.community_session import CommunitySession
from deephaven_mcp.resource_manager.session_id import DYNAMIC_SOURCE, SessionId


class DynamicCommunitySession(CommunitySession):
    """Owns its worker: deleting or shutting down the session stops the worker."""

    survives_reload = True

    def __init__(self, worker: LaunchedWorker, programming_language: str, timeouts: Timeouts):
        session_type: Literal["python", "groovy"] = (
            "groovy" if programming_language.lower() == "groovy" else "python"
        )
        super().__init__(
            SessionId.community(DYNAMIC_SOURCE, worker.session_name),
            worker.endpoint(session_type),
            timeouts,
        )
        self.worker = worker

    @property
    def status(self) -> str:
        """``stopped`` once the worker was stopped, else ``running``."""
        return "stopped" if self.worker.stopped else "running"

    def summary(self) -> dict[str, Any]:
        """The base summary plus how the worker was launched, its port and status."""
        return {
            **super().summary(),
            "launch_method": self.worker.launch_method,
            "port": self.worker.port,
            "status": self.status,
        }

    def extra_details(self) -> dict[str, Any]:
        """The launch: method, status, URL, start time, and the container id or pid."""
        details: dict[str, Any] = {
            **super().extra_details(),
            "launch_method": self.worker.launch_method,
            "status": self.status,
            "connection_url": self.worker.base_url,
            "started_at": self.worker.started_at.isoformat(),
        }
        if self.worker.container_id:
            details["container_id"] = self.worker.container_id
        if self.worker.pid:
            details["pid"] = self.worker.pid
        return details

    async def details(self, attempt_to_connect: bool) -> dict[str, Any]:
        """As for any session, but unavailable and ``stopped`` once the worker is gone."""
        info = await super().details(attempt_to_connect)
        if self.worker.stopped or not await self.worker.is_running():
            info.update(available=False, status="stopped")
        return info

    async def shutdown(self) -> None:
        """Close the client, then stop the worker this server launched."""
        await self.close()
        await self.worker.stop()

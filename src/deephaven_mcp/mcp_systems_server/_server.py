"""The systems server factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastmcp import FastMCP
from fastmcp.server.auth import AuthProvider
from fastmcp.server.lifespan import lifespan
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deephaven_mcp._version import __version__
from deephaven_mcp.config import McpConfig
from deephaven_mcp.enterprise import EnterpriseBackend
from deephaven_mcp.mcp_systems_server._audit import AuditMiddleware
from deephaven_mcp.mcp_systems_server._completions import register_completions
from deephaven_mcp.mcp_systems_server._resources import register_resources
from deephaven_mcp.mcp_systems_server._tool_policy import (
    ToolSet,
    notify_tools_changed,
)
from deephaven_mcp.mcp_systems_server.tools import ALL_TOOLS
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.serving.envelope import ArgumentErrorMiddleware
from deephaven_mcp.serving.http_security import auth_provider
from deephaven_mcp.systems import DeephavenSystems
from deephaven_mcp.systems.settings import SystemsSettings

_log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Tools for Deephaven real-time data workers. Start with sessions_list, then
session_tables_list / session_tables_schema, then session_table_data to read rows.
Session ids look like 'community:config:<name>', 'community:dynamic:<name>' or
'enterprise:<system>:<name>'. Every tool answers {"success": true, ...} or
{"success": false, "error": "...", "isError": true}."""


def build_systems_server(
    config_path: str | None = None,
    *,
    config: McpConfig | None = None,
    timeouts: Timeouts | None = None,
    demo: bool = False,
    enterprise_backend: EnterpriseBackend | None = None,
    auth: AuthProvider | Literal["config"] | None = "config",
    settings: SystemsSettings | None = None,
    read_only: bool = False,
) -> FastMCP[Any]:
    """Build a systems server; nothing connects until the server starts.

    ``settings`` default to the environment; ``config_path`` overrides their
    ``DH_MCP_CONFIG_FILE``; ``config`` skips reading a file at start (``mcp_reload`` still
    reads the path). ``demo`` launches a
    local worker with demo tables at start and registers it as ``community:dynamic:demo``.
    ``enterprise_backend`` replaces the Core+ client (tests use an in-process fake).
    ``auth`` guards the HTTP transports: ``"config"`` builds it from ``config``'s
    ``security.http.auth`` (a ``config_path`` alone gives none, as the file is read only
    at start), ``None`` means no authentication. ``read_only`` forces read-only mode (the
    ``--read-only`` flag); ``security.read_only`` in the configuration can also set it.
    Tools outside the policy (read-only mode, ``security.tools``) are not registered.
    """
    if auth == "config":
        auth = auth_provider(config.security.http) if config is not None else None
    systems = DeephavenSystems(
        config_path,
        config=config,
        timeouts=timeouts,
        demo=demo,
        enterprise_backend=enterprise_backend,
        settings=settings,
        read_only=read_only,
        keep_arrow=False,  # answers stream in windows; the server never holds them as Arrow
    )
    tool_set: ToolSet | None = None

    async def reapply_policy() -> None:
        if tool_set is not None and tool_set.apply_policy(systems):
            await notify_tools_changed()

    systems.add_reload_listener(reapply_policy)

    @lifespan
    async def run_systems(server: FastMCP[Any]) -> AsyncIterator[dict[str, Any]]:
        async with systems:
            # The file is read at start: only now is the policy known for sure.
            if tool_set is not None:
                tool_set.apply_policy(systems)
            yield {"systems": systems}

    mcp: FastMCP[Any] = FastMCP(
        "deephaven-mcp-systems",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=run_systems,
        # Audit outermost, so it records what the caller finally got.
        middleware=[AuditMiddleware(), ArgumentErrorMiddleware()],
        mask_error_details=True,
        auth=auth,
    )
    tool_set = ToolSet(mcp, ALL_TOOLS)
    # From the config given here (if any), so tools/list is right even before the lifespan.
    tool_set.apply_policy(systems)
    register_resources(mcp)
    register_completions(mcp, systems)

    @mcp.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_request: Request) -> Response:
        # Liveness only, and unauthenticated: it says nothing about sessions or config.
        return JSONResponse({"status": "ok"})

    return mcp

"""``dh-mcp config check``: validate a configuration file the way the server loads it.

The server stops at start on an invalid file; checking first lists every problem at once,
each with the dotted key it concerns (the loader's own wording), so one edit fixes them all.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import cyclopts
from cyclopts import Parameter
from dotenv import dotenv_values
from rich.console import Console

from deephaven_mcp.config import CONFIG_ENV_VAR, McpConfig, load_config_file
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.systems.settings import SystemsSettings

config_app = cyclopts.App(name="config", help="Check the Deephaven MCP configuration file.")


def server_environment(cwd: Path | None = None) -> dict[str, str]:
    """The variables the systems server would see when started in ``cwd``: the process
    environment over the directory's ``.env`` (the server loads it without overriding)."""
    directory = cwd if cwd is not None else Path.cwd()
    from_file = {
        key: value for key, value in dotenv_values(directory / ".env").items() if value is not None
    }
    return {**from_file, **os.environ}


def server_settings(env: Mapping[str, str] | None = None) -> SystemsSettings:
    """The systems server's settings from ``env`` (default: :func:`server_environment`).

    Raises ConfigError when a ``DH_MCP_*`` variable is malformed."""
    return SystemsSettings.from_env(env if env is not None else server_environment())


def summary(config: McpConfig) -> str:
    """What the configuration offers, in one parenthesis-free phrase."""
    community = len(config.community.sessions)
    enterprise = len(config.enterprise.systems)
    creation = config.community.session_creation
    if creation is None or creation.max_concurrent_sessions == 0:
        on_demand = "no on-demand community sessions"
    else:
        method = creation.defaults.launch_method or "docker"
        on_demand = f"on-demand community sessions via {method}"
    parts = [
        f"{community} community session{'s' if community != 1 else ''}",
        f"{enterprise} enterprise system{'s' if enterprise != 1 else ''}",
        on_demand,
    ]
    if config.security.read_only:
        parts.append("read-only")
    return ", ".join(parts)


def _problems(error: ConfigError) -> list[str]:
    """The loader's message as lines: its first line names the file, then one per key."""
    head, _, rest = str(error).partition("\n")
    return [head, *(f"  {line}" for line in rest.splitlines())]


@config_app.command(name="check")
def check(
    path: Annotated[
        Path | None,
        Parameter(help="The file to check (default: DH_MCP_CONFIG_FILE, from .env too)."),
    ] = None,
) -> int:
    """Validate a configuration file and list every problem with its key.

    Exit 0 when valid, 2 when invalid, missing, or when no file is configured.
    """
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if path is None:
        try:
            configured = server_settings().config_file
        except ConfigError as exc:
            err.print(f"dh-mcp config check: {exc}", markup=False)
            return 2
        if configured is None:
            err.print(
                f"dh-mcp config check: no file to check: {CONFIG_ENV_VAR} is not set "
                "(here or in ./.env), so the server runs on its built-in default; "
                "pass a PATH",
                markup=False,
            )
            return 2
        path = Path(configured)
    try:
        config = asyncio.run(load_config_file(str(path)))
    except ConfigError as exc:
        for line in _problems(exc):
            err.print(line, markup=False)
        return 2
    out.print(f"{path}: valid ({summary(config)})", markup=False)
    return 0

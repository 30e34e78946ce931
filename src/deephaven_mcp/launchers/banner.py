"""The browser-access banner printed once when a session gets a generated token.

It is written straight to a stream (stderr by default), not through ``logging``: the
redacting log formatter would mask the token, and this block is the one place a user can
read it when credential retrieval through the MCP tool is disabled. stdout is never used
because the server may be speaking MCP over stdio.
"""

from __future__ import annotations

import sys
from typing import Final, TextIO

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.launchers.worker import LaunchedWorker

RULE: Final = "=" * 70


def format_access_banner(worker: LaunchedWorker) -> str:
    lines = [
        RULE,
        f"Session '{worker.session_name}' created - browser access information:",
        f"   Port:        {worker.port}",
        f"   Base URL:    {worker.base_url}",
    ]
    if worker.auth_type is AuthType.PSK and worker.auth_token:
        lines.append(f"   Auth token:  {worker.auth_token}")
    lines += [
        f"   Browser URL: {worker.browser_url}",
        "",
        "   To retrieve credentials through the MCP tool instead, set",
        "   security.community.credential_retrieval_mode in deephaven_mcp.json.",
        RULE,
    ]
    return "\n".join(lines) + "\n"


def print_access_banner(worker: LaunchedWorker, stream: TextIO | None = None) -> bool:
    """Print the banner for a worker whose PSK was generated, at most once per worker.

    Returns True if it printed. Workers with a user-supplied token or anonymous auth get no
    banner: the user already knows how to reach them.
    """
    if worker.banner_printed or not worker.token_generated or not worker.auth_token:
        return False
    out = stream if stream is not None else sys.stderr
    out.write(format_access_banner(worker))
    out.flush()
    worker.banner_printed = True
    return True

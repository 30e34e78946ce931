"""The browser-access banner shown once when a session gets a generated token.

It is written straight to a stream (stderr by default), not through ``logging``: the
redacting log formatter would mask the token, and this block is the one place a user can
read it when credential retrieval through the MCP tool is disabled. stdout is never used
because the server may be speaking MCP over stdio.

The token itself is printed only when the stream is a terminal, that is, when a person is
watching. Otherwise stderr is a log file (Claude Desktop's, a service manager's), where a
key would stay readable for as long as the log is kept; the full banner then goes to a
file only the server's user can read (mode 0600), and the stream gets its path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final, TextIO

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.launchers.worker import LaunchedWorker

RULE: Final = "=" * 70
_RETRIEVAL_HINT: Final = (
    "",
    "   To retrieve credentials through the MCP tool instead, set",
    "   security.community.credential_retrieval_mode in deephaven_mcp.json.",
)


def format_access_banner(
    worker: LaunchedWorker, *, token_at: Path | None = None, withhold: bool = False
) -> str:
    """The banner; with ``token_at`` the token and browser URL are replaced by that path,
    with ``withhold`` they are left out."""
    lines = [
        RULE,
        f"Session '{worker.session_name}' created - browser access information:",
        f"   Port:        {worker.port}",
        f"   Base URL:    {worker.base_url}",
    ]
    secret = worker.auth_type is AuthType.PSK and bool(worker.auth_token)
    if secret and token_at is not None:
        lines.append(f"   Auth token and browser URL: in {token_at} (readable only by you)")
    elif secret and withhold:
        lines.append("   Auth token:  not shown (the output is not a terminal)")
    else:
        if secret:
            lines.append(f"   Auth token:  {worker.auth_token}")
        lines.append(f"   Browser URL: {worker.browser_url}")
    lines += [*_RETRIEVAL_HINT, RULE]
    return "\n".join(lines) + "\n"


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (blocking)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its old mode otherwise
        handle.write(text)


def print_access_banner(
    worker: LaunchedWorker, stream: TextIO | None = None, *, access_file: Path | None = None
) -> bool:
    """Show the banner for a worker whose PSK was generated, at most once per worker
    (blocking: it may write ``access_file``).

    On a terminal the token is printed. Otherwise the full banner is written to
    ``access_file`` and the stream names that file; with no ``access_file`` the token is
    left out. Returns True if it printed. Workers with a user-supplied token or anonymous
    auth get no banner: the user already knows how to reach them.
    """
    if worker.banner_printed or not worker.token_generated or not worker.auth_token:
        return False
    out = stream if stream is not None else sys.stderr
    if _is_terminal(out):
        text = format_access_banner(worker)
    elif access_file is not None:
        write_private_file(access_file, format_access_banner(worker))
        text = format_access_banner(worker, token_at=access_file)
    else:
        text = format_access_banner(worker, withhold=True)
    out.write(text)
    out.flush()
    worker.banner_printed = True
    return True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False

"""The console scripts: each server loads with the collector paused; every script (the
servers and ``dh-mcp``, which reads the same configuration secrets) keeps its memory and
environment closed to other processes of the same user.

See :mod:`deephaven_mcp.serving.process` for the settings a server applies at start-up.
"""

from __future__ import annotations

import os
import sys
from typing import Final

from deephaven_mcp.serving.process import collector_paused

_PR_SET_DUMPABLE: Final = 4
_INTERRUPTED: Final = 130  # the shell's code for a command ended by Ctrl-C


def keep_process_private() -> bool:
    """Mark this process non-dumpable (Linux, not root); True if it was done.

    Any process of the same user may otherwise read ``/proc/<pid>/environ`` (bearer tokens,
    API keys, Enterprise passwords), ``/proc/<pid>/mem`` and attach a debugger. A
    non-dumpable process's ``/proc`` entries belong to root, so only root can. As root the
    flag changes nothing of that sort (root reads everything anyway), so it is left alone;
    the worker sandbox is what keeps agent code away from a root server's secrets. Children
    are dumpable again after ``exec``, so workers and helpers are unaffected.
    """
    if not sys.platform.startswith("linux") or os.geteuid() == 0:
        return False
    import ctypes  # only here: a few milliseconds the import of the servers need not pay

    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)


def systems_server() -> None:
    """The ``dh-mcp-systems-server`` command."""
    keep_process_private()
    with collector_paused():
        from deephaven_mcp.mcp_systems_server import main
    main()


def docs_server() -> None:
    """The ``dh-mcp-docs-server`` command."""
    keep_process_private()
    with collector_paused():
        from deephaven_mcp.mcp_docs_server import main
    main()


def dh_mcp() -> None:
    """The ``dh-mcp`` command: the configuration it reads holds the servers' secrets."""
    keep_process_private()
    try:
        from deephaven_mcp.cli import main

        code = main()
    except KeyboardInterrupt:  # Ctrl-C while starting, before main() handles it
        code = _INTERRUPTED
    raise SystemExit(code)

"""The console scripts keep the server's memory and environment from same-user processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from deephaven_mcp._console import keep_process_private

NOBODY = 65534
SECRET = "startup-secret-a81c5e"

# A stand-in server: becomes an ordinary user, optionally hides itself, then waits. Changing
# the uid makes a process non-dumpable on its own, so it is first made dumpable again, as a
# program started by that user is.
_SERVER = textwrap.dedent(
    """
    import ctypes, os, sys, time
    from deephaven_mcp._console import keep_process_private
    os.setgid({uid}); os.setuid({uid})
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
    print(keep_process_private() if sys.argv[1] == "private" else "open", flush=True)
    time.sleep(60)
    """
)
# Another process of the same user, trying to read the server's environment.
_READER = textwrap.dedent(
    """
    import os, sys
    os.setgid({uid}); os.setuid({uid})
    try:
        with open(f"/proc/{{sys.argv[1]}}/environ", "rb") as handle:
            print("read" if {secret!r}.encode() in handle.read() else "no secret")
    except PermissionError:
        print("denied")
    """
)


def _read_as_same_user(mode: str) -> tuple[str, str]:
    env = {**os.environ, "DH_MCP_SERVER_SECRET": SECRET}
    code = _SERVER.format(uid=NOBODY)
    with subprocess.Popen(
        [sys.executable, "-c", code, mode], env=env, stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            marked = server.stdout.readline().strip()
            reader = subprocess.run(
                [sys.executable, "-c", _READER.format(uid=NOBODY, secret=SECRET), str(server.pid)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            return marked, reader.stdout.strip()
        finally:
            server.kill()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become two processes of one user")
def test_a_same_user_process_cannot_read_the_servers_environment() -> None:
    assert _read_as_same_user("open") == ("open", "read")  # the threat is real
    assert _read_as_same_user("private") == ("True", "denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="as root the flag is left alone")
def test_not_root_marks_the_process_private() -> None:
    assert keep_process_private() is sys.platform.startswith("linux")


@pytest.mark.skipif(os.geteuid() != 0, reason="as root")
def test_root_is_left_alone() -> None:
    assert keep_process_private() is False

"""Start-up refusals of the console script: a clean message on stderr and exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.mcp_systems_server._helpers import write_config

SERVER = shutil.which("dh-mcp-systems-server")


def test_a_world_writable_state_dir_stops_the_start(tmp_path: Path) -> None:
    assert SERVER, "console script not installed"
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    env = {
        **os.environ,
        "DH_MCP_CONFIG_FILE": write_config(tmp_path / "c.json", {}),
        "DH_MCP_STATE_DIR": str(state),
    }
    done = subprocess.run(
        [SERVER], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert str(state) in done.stderr and "chmod 700" in done.stderr
    assert "Traceback" not in done.stderr

"""script_path through the MCP client: a file inside a configured root runs, others are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastmcp import Client

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.systems._tables import SCRIPT_PATH_REFUSED
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, session_config

pytestmark = pytest.mark.integration

SESSION = "community:config:anon"


def _config(worker: RunningWorker, roots: list[str]) -> McpConfig:
    return McpConfig.model_validate(
        {
            "community": {"sessions": {"anon": session_config(worker)}},
            "security": {"script_path_roots": roots},
        }
    )


async def test_only_files_inside_a_configured_root_run(
    dh_worker: RunningWorker, tmp_path: Path
) -> None:
    root, outside = tmp_path / "scripts", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    inside_file = root / "make.py"
    inside_file.write_text("from deephaven import empty_table\nfrom_root = empty_table(3)\n")
    outside_file = outside / "make.py"
    outside_file.write_text("from deephaven import empty_table\nfrom_outside = empty_table(3)\n")
    (root / "escape.py").symlink_to(outside_file)

    async with Client(build_systems_server(config=_config(dh_worker, [str(root)]))) as client:
        tools = ToolCaller(client)
        await tools.ok("session_script_run", session_id=SESSION, script_path=str(inside_file))
        refusals = [
            await tools.error("session_script_run", session_id=SESSION, script_path=path)
            for path in (
                str(outside_file),
                str(root / "escape.py"),
                str(root / "missing.py"),
                f"{root}/../elsewhere/make.py",
                "make.py",
            )
        ]
        assert refusals == [SCRIPT_PATH_REFUSED] * len(refusals)
        names = (await tools.ok("session_tables_list", session_id=SESSION))["table_names"]
        assert "from_root" in names
        assert "from_outside" not in names

    # Without roots, script_path is off: even the file that ran above is refused.
    async with Client(build_systems_server(config=_config(dh_worker, []))) as client:
        tools = ToolCaller(client)
        message = await tools.error(
            "session_script_run", session_id=SESSION, script_path=str(inside_file)
        )
        assert message == SCRIPT_PATH_REFUSED
        await tools.ok("session_script_run", session_id=SESSION, script="del from_root")

"""The public API: exported names do not drift, and the documented example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import deephaven_mcp
from deephaven_mcp import errors
from deephaven_mcp.mcp_systems_server import tools
from deephaven_mcp.systems import results
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config, write_config

DOCS = Path(__file__).resolve().parents[1] / "docs" / "python_api.md"


def test_top_level_names() -> None:
    assert deephaven_mcp.__all__ == [
        "DeephavenSystems",
        "__version__",
        "build_docs_server",
        "build_systems_server",
        "docs_chat",
        "errors",
    ]
    for name in deephaven_mcp.__all__:
        assert getattr(deephaven_mcp, name) is not None, name
    with pytest.raises(AttributeError):
        _ = deephaven_mcp.no_such_name


def test_errors_are_one_family() -> None:
    assert errors.__all__ == sorted(errors.__all__)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DeephavenMcpError), name
    assert errors.DeephavenMcpError.__name__ != "McpError"  # no clash with the MCP SDK's


def test_results_are_exported() -> None:
    assert results.__all__ == sorted(results.__all__)
    for name in results.__all__:
        assert issubclass(getattr(results, name), results.ToolOutput), name


def test_every_service_method_has_a_tool_with_its_parameters() -> None:
    import inspect

    from deephaven_mcp import DeephavenSystems

    assert set(tools.__all__) == {"ALL_TOOLS", *(t.__name__ for t in tools.ALL_TOOLS)}
    for tool in tools.ALL_TOOLS:
        method = getattr(DeephavenSystems, tool.__name__)
        tool_params = list(inspect.signature(tool).parameters)
        method_params = [
            name
            for name, param in inspect.signature(method).parameters.items()
            if name != "self" and param.kind is not param.KEYWORD_ONLY
        ]
        assert tool_params[0] == "systems", tool.__name__
        assert [p for p in tool_params[1:] if p != "ctx"] == method_params, tool.__name__


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    return str(blocks[0])


@pytest.mark.integration
def test_documented_example_runs(dh_worker: RunningWorker, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.json", {"community": {"sessions": {"local": session_config(dh_worker)}}}
    )
    script = tmp_path / "example.py"
    script.write_text(_example(), encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=dict(os.environ) | {"DH_MCP_CONFIG_FILE": config},
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert "squares" in out.splitlines()[0]
    assert "3 of the rows (complete: False):" in out
    assert "X,Y\n0,0\n1,1\n2,4" in out
    assert "as expected: " in out and "community:config:nope" in out

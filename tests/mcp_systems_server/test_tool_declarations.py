# mypy: disable-error-code="empty-body"
# (The test tools are declarations too: no body but the docstring, like the real ones.)
"""A tool is a declaration; ``@systems_tool`` forwards it to the service method.

Checked without a worker: a stand-in service records what each tool passes on.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

from deephaven_mcp.mcp_systems_server.tools import ALL_TOOLS
from deephaven_mcp.mcp_systems_server.tools._common import (
    SessionIdArg,
    Systems,
    reporting_progress,
    systems_tool,
)
from deephaven_mcp.systems.results import Done, TableNames

TOOLS_DIR = Path(__file__).resolve().parents[2] / "src/deephaven_mcp/mcp_systems_server/tools"


class _Recorder:
    """Answers every service method with ``Done`` and keeps what it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any, **kwargs: Any) -> Done:
            self.calls.append((name, args, kwargs))
            return Done()

        return method


def _declared(tool: Any) -> list[inspect.Parameter]:
    return list(inspect.signature(tool).parameters.values())[1:]


@pytest.mark.parametrize("tool", ALL_TOOLS, ids=lambda tool: tool.__name__)
async def test_a_positional_call_reaches_the_method_with_every_argument_by_keyword(
    tool: Any,
) -> None:
    systems = _Recorder()
    values = {param.name: object() for param in _declared(tool)}
    result = await tool(systems, *values.values())
    assert result.structured_content == {"success": True}, result.structured_content
    [(name, args, kwargs)] = systems.calls
    assert (name, args) == (tool.__name__, ())
    if "ctx" in values:
        assert callable(kwargs.pop("progress"))
        del values["ctx"]
    assert kwargs == values


@pytest.mark.parametrize("tool", ALL_TOOLS, ids=lambda tool: tool.__name__)
async def test_the_declared_defaults_are_passed_on(tool: Any) -> None:
    systems = _Recorder()
    required = {param.name: object() for param in _declared(tool) if param.default is param.empty}
    await tool(systems=systems, **required)
    [(_, _, kwargs)] = systems.calls
    kwargs.pop("progress", None)
    expected = {param.name: param.default for param in _declared(tool) if param.name != "ctx"}
    assert kwargs == expected | required


async def test_a_call_that_does_not_fit_the_declaration_is_a_failure_envelope() -> None:
    by_name = {tool.__name__: tool for tool in ALL_TOOLS}
    result = await by_name["session_tables_list"](_Recorder(), "a", "b")
    assert result.is_error and result.structured_content is not None
    assert "Listing tables failed unexpectedly (TypeError)" in result.structured_content["error"]


async def test_ctx_becomes_progress_notifications_of_the_request() -> None:
    sent: list[tuple[float, float, str]] = []

    class Context:
        async def report_progress(self, progress: float, total: float, message: str) -> None:
            sent.append((progress, total, message))

    progress = reporting_progress(Context())  # type: ignore[arg-type]
    await progress("Starting the worker", 0.123)
    assert sent == [(12.3, 100, "Starting the worker")]
    await reporting_progress(None)("Nobody asked", 0.5)  # no request: nothing to send


def test_a_declaration_that_drifts_from_its_method_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"tool session_tables_list declares \['session_id', "):

        @systems_tool("Listing tables")
        async def session_tables_list(
            systems: Systems, session_id: SessionIdArg, pattern: str = "*"
        ) -> TableNames:
            """Drifted: the service method takes no pattern."""


def test_a_declaration_without_the_service_first_is_refused() -> None:
    with pytest.raises(TypeError, match="must take the service"):

        @systems_tool("Listing tables")
        async def session_tables_list(session_id: SessionIdArg) -> TableNames:
            """No service."""


def test_every_tool_is_a_declaration_without_a_body() -> None:
    """A body would never run (the decorator calls the service method): logic belongs there."""
    declared, with_body = set(), []
    for path in sorted(TOOLS_DIR.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AsyncFunctionDef) and node.decorator_list:
                declared.add(node.name)
                if len(node.body) != 1 or ast.get_docstring(node) is None:
                    with_body.append(f"{path.name}: {node.name}")
    assert declared == {tool.__name__ for tool in ALL_TOOLS}
    assert not with_body

"""Wrongly typed arguments get the standard failure envelope on both servers."""

from __future__ import annotations

from pathlib import Path

from fastmcp import Client

from deephaven_mcp.mcp_docs_server import build_docs_server
from deephaven_mcp.mcp_systems_server import build_systems_server


async def test_systems_server_type_errors_use_the_envelope(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text("{}")
    async with Client(build_systems_server(str(config))) as client:
        result = await client.call_tool_mcp(
            "session_details", {"session_id": "community:config:x", "attempt_to_connect": "maybe"}
        )
    assert result.is_error
    assert result.structured_content == {
        "success": False,
        "error": "invalid argument attempt_to_connect: expected true or false, not 'maybe'",
        "isError": True,
    }


async def test_docs_server_type_errors_use_the_envelope() -> None:
    async with Client(build_docs_server()) as client:
        result = await client.call_tool_mcp("docs_chat", {"prompt": 42})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["success"] is False
    assert "prompt: expected a string" in result.structured_content["error"]

"""The programmatic entry points: ``_mcp.docs_chat`` and the lazy ``mcp_server``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastmcp import Client, FastMCP

from deephaven_mcp.mcp_docs_server._mcp import aclose_default_assistant, docs_chat
from tests.mcp_docs_server._support import INKEEP_KEY, OPENAI_KEY
from tests.mcp_docs_server.fake_openai import FakeChatServer


@pytest.fixture
async def docs_env(
    monkeypatch: pytest.MonkeyPatch, fake_inkeep: FakeChatServer, fake_openai: FakeChatServer
) -> AsyncIterator[None]:
    """Environment pointing at the fakes; the cached default assistant is rebuilt around it."""
    monkeypatch.setenv("INKEEP_API_KEY", INKEEP_KEY)
    monkeypatch.setenv("INKEEP_BASE_URL", fake_inkeep.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("DOCS_MAX_RETRIES", "0")
    monkeypatch.delenv("DOCS_REQUEST_TIMEOUT", raising=False)
    await aclose_default_assistant()
    yield
    await aclose_default_assistant()


async def test_docs_chat_returns_the_envelope(
    docs_env: None, fake_inkeep: FakeChatServer, fake_openai: FakeChatServer
) -> None:
    response = await docs_chat(
        prompt="How do I filter tables in Deephaven?",
        history=[
            {"role": "user", "content": "How do I create a table?"},
            {"role": "assistant", "content": "To create a table in Deephaven..."},
        ],
        deephaven_core_version="1.2.3",
        deephaven_enterprise_version="4.5.6",
        programming_language="python",
    )
    assert response == {
        "success": True,
        "response": "[inkeep] How do I filter tables in Deephaven?",
    }
    system = fake_inkeep.last.system_prompt
    assert "Community Core version 1.2.3" in system
    assert "Core+ (Enterprise) version 4.5.6" in system
    fake_inkeep.fail(500)
    fallback = await docs_chat(prompt="Fallback?")
    assert fallback == {"success": True, "response": "[openai] Fallback?"}


async def test_docs_chat_reports_errors_in_the_envelope(docs_env: None) -> None:
    response = await docs_chat(prompt="q", history=[{"role": "robot", "content": "x"}])
    assert response["success"] is False
    assert response["isError"] is True
    assert "history[0].role" in response["error"]


async def test_docs_chat_reports_bad_environment(
    docs_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    await aclose_default_assistant()
    monkeypatch.setenv("DOCS_REQUEST_TIMEOUT", "soon")
    response = await docs_chat(prompt="q")
    assert response["success"] is False
    assert "DOCS_REQUEST_TIMEOUT: input should be a valid number" in response["error"]


async def test_mcp_server_is_built_lazily_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import deephaven_mcp.mcp_docs_server as package

    monkeypatch.setattr(package, "_default_server", None)
    server = package.mcp_server
    assert isinstance(server, FastMCP)
    assert package.mcp_server is server
    async with Client(server) as client:
        assert [tool.name for tool in await client.list_tools()] == ["docs_chat"]
    with pytest.raises(AttributeError):
        _ = package.no_such_attribute


async def test_docs_chat_without_keys_names_the_variables_for_a_python_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The message serves a Python caller too: it names the variables and the process."""
    for name in ("INKEEP_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    await aclose_default_assistant()
    try:
        response = await docs_chat(prompt="q")
    finally:
        await aclose_default_assistant()
    assert response["success"] is False
    assert response["error"].endswith(
        "The documentation assistant is not configured: set INKEEP_API_KEY (or "
        "OPENAI_API_KEY, or both) in the environment of the process that runs docs_chat "
        "(the docs server, or your Python program), then restart that process."
    )

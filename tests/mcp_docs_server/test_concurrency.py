"""The cap on docs_chat calls in flight, through the MCP tool and the Python API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.client import CallToolResult

from deephaven_mcp.mcp_docs_server import build_docs_server
from deephaven_mcp.mcp_docs_server._mcp import aclose_default_assistant, docs_chat
from tests.mcp_docs_server._support import INKEEP_KEY, make_settings
from tests.mcp_docs_server.fake_openai import FakeChatServer

BUSY = "The documentation assistant is busy (2 requests in progress); retry in a few seconds."


async def ask_all(client: Client[Any], count: int) -> list[CallToolResult]:
    calls = (
        client.call_tool("docs_chat", {"prompt": f"Question {i}?"}, raise_on_error=False)
        for i in range(count)
    )
    return list(await asyncio.gather(*calls))


def partition(results: list[CallToolResult]) -> tuple[list[str], list[str]]:
    """Answers and errors, in call order."""
    answers, errors = [], []
    for result in results:
        payload = result.structured_content or {}
        if payload.get("success"):
            answers.append(str(payload["response"]))
        else:
            assert result.is_error
            errors.append(str(payload["error"]))
    return answers, errors


async def test_calls_over_the_cap_get_a_busy_answer(fake_inkeep: FakeChatServer) -> None:
    # Each answer takes 1.5 s and a waiter gives up after 0.2 s: the 2 calls holding slots
    # succeed, the 3 that have to wait are told the assistant is busy. No timing race:
    # no slot can free up before every waiter has given up.
    fake_inkeep.answer(delay=1.5)
    settings = make_settings(fake_inkeep, None, max_concurrent_chats=2, queue_timeout=0.2)
    async with Client(build_docs_server(settings)) as client:
        started = time.monotonic()
        answers, errors = partition(await ask_all(client, 5))
        elapsed = time.monotonic() - started
    assert len(answers) == 2
    assert errors == [BUSY] * 3
    assert fake_inkeep.max_in_flight == 2
    assert len(fake_inkeep.requests) == 2  # the busy calls cost no provider request
    assert elapsed < 10


async def test_a_waiter_that_gets_a_slot_in_time_is_answered(fake_inkeep: FakeChatServer) -> None:
    fake_inkeep.answer(delay=0.3)
    settings = make_settings(fake_inkeep, None, max_concurrent_chats=1, queue_timeout=10)
    async with Client(build_docs_server(settings)) as client:
        started = time.monotonic()
        answers, errors = partition(await ask_all(client, 3))
        elapsed = time.monotonic() - started
    assert errors == []
    assert sorted(answers) == [f"[inkeep] Question {i}?" for i in range(3)]
    assert fake_inkeep.max_in_flight == 1  # one at a time, as capped
    assert elapsed >= 0.85  # three 0.3 s answers in turn


async def test_default_cap_lets_a_burst_of_100_through(fake_inkeep: FakeChatServer) -> None:
    """100 simultaneous calls: 32 run, the rest queue (within 4 x 32) and are answered."""
    fake_inkeep.answer(delay=0.2)
    settings = make_settings(fake_inkeep, None)  # defaults: 32 in flight, 10 s queue
    assert (settings.max_concurrent_chats, settings.queue_timeout) == (32, 10.0)
    async with Client(build_docs_server(settings)) as client:
        answers, errors = partition(await ask_all(client, 100))
    assert errors == []
    assert len(answers) == 100
    assert 1 < fake_inkeep.max_in_flight <= 32


async def test_invalid_calls_take_no_slot(fake_inkeep: FakeChatServer) -> None:
    fake_inkeep.answer(delay=1.0)
    settings = make_settings(fake_inkeep, None, max_concurrent_chats=1, queue_timeout=0)
    async with Client(build_docs_server(settings)) as client:
        slow = asyncio.create_task(client.call_tool("docs_chat", {"prompt": "Slow?"}))
        while not fake_inkeep.requests:
            await asyncio.sleep(0.01)
        bad = await client.call_tool("docs_chat", {"prompt": "  "}, raise_on_error=False)
        await slow
    assert partition([bad])[1] == ["prompt must not be empty."]


@pytest.fixture
async def capped_env(
    monkeypatch: pytest.MonkeyPatch, fake_inkeep: FakeChatServer
) -> AsyncIterator[None]:
    """The programmatic API's environment: one call at a time, no waiting."""
    monkeypatch.setenv("INKEEP_API_KEY", INKEEP_KEY)
    monkeypatch.setenv("INKEEP_BASE_URL", fake_inkeep.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("DOCS_MAX_RETRIES", "0")
    monkeypatch.setenv("DOCS_MAX_CONCURRENT_CHATS", "1")
    monkeypatch.setenv("DOCS_QUEUE_TIMEOUT", "0")
    await aclose_default_assistant()
    yield
    await aclose_default_assistant()


async def test_programmatic_calls_share_the_same_cap(
    capped_env: None, fake_inkeep: FakeChatServer
) -> None:
    fake_inkeep.answer(delay=1.0)
    first = asyncio.create_task(docs_chat("First?"))
    while not fake_inkeep.requests:
        await asyncio.sleep(0.01)
    second = await docs_chat("Second?")
    assert second["success"] is False
    assert "busy (1 request in progress)" in second["error"]
    assert await first == {"success": True, "response": "[inkeep] First?"}

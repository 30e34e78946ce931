"""Fixtures for the docs server tests: two fake providers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mcp_docs_server.fake_openai import FakeChatServer


@pytest.fixture
def fake_inkeep() -> Iterator[FakeChatServer]:
    """Stands in for Inkeep; answers by default."""
    fake = FakeChatServer(name="inkeep").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_openai() -> Iterator[FakeChatServer]:
    """Stands in for OpenAI, the fallback; answers by default."""
    fake = FakeChatServer(name="openai").start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeChatServer]:
    """One Inkeep stand-in shared by a module's long-lived servers."""
    fake = FakeChatServer(name="inkeep").start()
    yield fake
    fake.stop()

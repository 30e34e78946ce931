"""Constants and helpers shared by the docs server tests."""

from __future__ import annotations

from deephaven_mcp.mcp_docs_server import DocsSettings
from tests.mcp_docs_server.fake_openai import FakeChatServer

INKEEP_KEY = "ik-test-secret-7f3a9c21d0"
OPENAI_KEY = "sk-test-secret-5e8d0b44aa"
OPENAI_MODEL = "fake-gpt"


def make_settings(
    inkeep: FakeChatServer | None,
    openai: FakeChatServer | None,
    *,
    timeout: float = 10.0,
    inkeep_key: str | None = INKEEP_KEY,
    openai_key: str | None = OPENAI_KEY,
    max_concurrent_chats: int = 32,
    queue_timeout: float = 10.0,
) -> DocsSettings:
    """Settings for the fakes; a provider passed as ``None`` has no key (not configured)."""
    env = {
        "INKEEP_BASE_URL": inkeep.base_url if inkeep else "http://127.0.0.1:9/v1",
        "INKEEP_MODEL": "inkeep-context-expert",
        "OPENAI_BASE_URL": openai.base_url if openai else "http://127.0.0.1:9/v1",
        "OPENAI_MODEL": OPENAI_MODEL,
        "DOCS_REQUEST_TIMEOUT": str(timeout),
        "DOCS_MAX_RETRIES": "0",
        "DOCS_MAX_CONCURRENT_CHATS": str(max_concurrent_chats),
        "DOCS_QUEUE_TIMEOUT": str(queue_timeout),
    }
    if inkeep and inkeep_key:
        env["INKEEP_API_KEY"] = inkeep_key
    if openai and openai_key:
        env["OPENAI_API_KEY"] = openai_key
    return DocsSettings.from_env(env)

"""A raw MCP ``initialize`` POST, for tests that check what the HTTP layer lets through."""

from __future__ import annotations

from typing import Any, Final

import httpx

INITIALIZE: Final[dict[str, Any]] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "http-test", "version": "0"},
    },
}
MCP_HEADERS: Final = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
}


def post_initialize(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST ``initialize`` to ``url`` with extra (possibly forged) ``headers``."""
    return httpx.post(url, json=INITIALIZE, headers=MCP_HEADERS | (headers or {}), timeout=30)

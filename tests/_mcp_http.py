"""A raw MCP ``initialize`` POST, for tests that check what the HTTP layer lets through."""

from __future__ import annotations

import json
import socket
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


def raw_status(
    port: int,
    headers: list[tuple[str, str]],
    *,
    method: str = "POST",
    path: str = "/mcp",
    body: bytes | None = None,
) -> int:
    """Send one request to 127.0.0.1:``port`` with exactly ``headers``; its status code.

    A bare socket, because HTTP clients tidy up what these tests need to send: repeated
    or missing Host headers, a Host with userinfo or a list, two Authorization headers.
    ``body`` defaults to the ``initialize`` request for POST and nothing otherwise.
    """
    if body is None:
        body = json.dumps(INITIALIZE).encode() if method == "POST" else b""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    if body:
        lines += [f"{k}: {v}" for k, v in MCP_HEADERS.items()]
        lines.append(f"content-length: {len(body)}")
    lines.append("connection: close")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    status_line = received.split(b"\r\n", 1)[0].decode("latin-1")
    return int(status_line.split(" ")[1])


# Host headers that are not one well-formed ``host[:port]`` (``{port}``: the server's),
# each list being the Host headers of one request.
MALFORMED_HOSTS: list[list[str]] = [
    ["localhost:{port}@evil.com"],
    ["localhost:abc"],
    ["localhost:{port}, evil.com"],
    ["evil.com:abc"],
    ["127.0.0.1:{port}", "evil.com"],  # two Host headers
    ["127.1:{port}"],
]

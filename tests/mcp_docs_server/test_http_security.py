"""The HTTP transports' guard, bearer token and bind rule, on a real server subprocess.

Every request goes to 127.0.0.1; forged Host and Origin headers stand in for a
DNS-rebinding page or a foreign site.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from fastmcp.client.transports import SSETransport, StreamableHttpTransport
from mcp.shared.exceptions import MCPError

from deephaven_mcp.errors import ConfigError
from deephaven_mcp.mcp_docs_server import DocsSettings, run_server
from deephaven_mcp.mcp_docs_server._cli import check_http_bind
from deephaven_mcp.serving.http_security import ALLOW_UNAUTHENTICATED_FLAG, UnsafeBindError
from tests._mcp_http import MALFORMED_HOSTS, post_initialize, raw_status
from tests.mcp_docs_server._subprocess import (
    SERVER_CMD,
    RunningServer,
    full_env,
    http_server,
    provider_env,
)
from tests.mcp_docs_server._support import INKEEP_KEY
from tests.mcp_docs_server.fake_openai import FakeChatServer

TOKEN = secrets.token_urlsafe(32)
WRONG_TOKEN = secrets.token_urlsafe(32)
PROXY_HOST = "docs.example.com"
APP_ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def guarded(
    module_fake: FakeChatServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A streamable-http server with a token, one extra host and one extra origin."""
    env = provider_env(module_fake) | {  # PYTHONLOGLEVEL=DEBUG comes with provider_env
        "DOCS_AUTH_TOKEN": TOKEN,
        "DOCS_ALLOWED_HOSTS": PROXY_HOST,
        "DOCS_ALLOWED_ORIGINS": APP_ORIGIN,
    }
    with http_server("streamable-http", env, tmp_path_factory.mktemp("guarded")) as server:
        yield server


def initialize(server: RunningServer, **headers: str) -> httpx.Response:
    return post_initialize(f"{server.base}/mcp", headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token(guarded: RunningServer) -> None:
    response = httpx.get(f"{guarded.base}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    # A wrong token does not turn the probe into a failure either.
    assert httpx.get(f"{guarded.base}/health", headers=bearer(WRONG_TOKEN)).status_code == 200


def health(server: RunningServer, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.base}/health", headers=headers, timeout=5)


def test_forged_host_is_refused(guarded: RunningServer) -> None:
    # What a DNS-rebinding page produces: our address, the attacker's host name.
    response = initialize(guarded, Host="evil.example", **bearer(TOKEN))
    assert response.status_code == 421
    assert health(guarded, Host="evil.example").status_code == 421


@pytest.mark.parametrize("hosts", MALFORMED_HOSTS)
def test_malformed_host_is_400(guarded: RunningServer, hosts: list[str]) -> None:
    headers = [("host", host.format(port=guarded.port)) for host in hosts]
    assert raw_status(guarded.port, [*headers, ("authorization", f"Bearer {TOKEN}")]) == 400
    assert raw_status(guarded.port, headers, method="GET", path="/health") == 400


def test_two_authorization_headers_are_400(guarded: RunningServer) -> None:
    host = ("host", f"127.0.0.1:{guarded.port}")
    good = ("authorization", f"Bearer {TOKEN}")
    assert raw_status(guarded.port, [host, good]) == 200  # the control
    assert raw_status(guarded.port, [host, good, good]) == 400
    wrong = ("authorization", f"Bearer {WRONG_TOKEN}")
    assert raw_status(guarded.port, [host, good, wrong]) == 400
    assert raw_status(guarded.port, [host, good, good], method="GET", path="/health") == 400


# Pages on this machine that are not this server, then foreign sites.
REFUSED_ORIGINS = (
    "http://localhost:1",
    "http://[::1]:9",
    "http://127.0.0.2:{port}",
    "https://localhost:{port}",
    "http://localhost:5173",
    "null",
    "http://evil.example",
    "https://app.example.com.evil.example",
)


@pytest.mark.parametrize("origin", REFUSED_ORIGINS)
def test_other_origins_are_refused(guarded: RunningServer, origin: str) -> None:
    origin = origin.format(port=guarded.port)
    response = initialize(guarded, Origin=origin, **bearer(TOKEN))
    assert response.status_code == 403
    assert response.text == "Forbidden Origin"
    assert health(guarded, Origin=origin).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": APP_ORIGIN},  # listed in DOCS_ALLOWED_ORIGINS
        {"Origin": "https://APP.example.com:443"},
        {"Origin": "http://127.0.0.1:{port}"},  # the server's own origin, three spellings
        {"Origin": "http://localhost:{port}"},
        {"Origin": "http://[::1]:{port}"},
        {"Host": PROXY_HOST},  # listed in DOCS_ALLOWED_HOSTS, as a proxy would forward
        {"Host": "localhost"},
    ],
)
def test_allowed_hosts_and_origins_pass(guarded: RunningServer, headers: dict[str, str]) -> None:
    headers = {name: value.format(port=guarded.port) for name, value in headers.items()}
    response = initialize(guarded, **headers, **bearer(TOKEN))
    assert response.status_code == 200, response.text
    assert health(guarded, **headers).status_code == 200


@pytest.fixture(scope="module")
def open_docs(
    module_fake: FakeChatServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """No token, loopback only: the Origin check is all that stops a local page."""
    env = provider_env(module_fake)
    with http_server("streamable-http", env, tmp_path_factory.mktemp("open")) as server:
        yield server


@pytest.mark.parametrize("origin", REFUSED_ORIGINS[:6])
async def test_a_loopback_page_cannot_ask_an_open_server(
    open_docs: RunningServer, module_fake: FakeChatServer, origin: str
) -> None:
    origin = origin.format(port=open_docs.port)
    assert initialize(open_docs, Origin=origin).status_code == 403
    transport = StreamableHttpTransport(f"{open_docs.base}/mcp", headers={"Origin": origin})
    asked = len(module_fake.bodies)
    # The client reports any non-2xx answer this way; the initialize above shows the 403.
    with pytest.raises(MCPError, match="Server returned an error response"):
        async with Client(transport) as client:
            await client.call_tool("docs_chat", {"prompt": "Spend the key?"})
    assert len(module_fake.bodies) == asked  # the provider was never called


async def test_the_servers_own_page_can_ask_an_open_server(open_docs: RunningServer) -> None:
    origin = f"http://[::1]:{open_docs.port}"
    transport = StreamableHttpTransport(f"{open_docs.base}/mcp", headers={"Origin": origin})
    async with Client(transport) as client:
        result = await client.call_tool("docs_chat", {"prompt": "Own page?"})
    assert result.structured_content == {"success": True, "response": "[inkeep] Own page?"}


@pytest.mark.parametrize("headers", [{}, bearer(WRONG_TOKEN), {"Authorization": TOKEN}])
def test_missing_or_wrong_token_is_401(guarded: RunningServer, headers: dict[str, str]) -> None:
    response = initialize(guarded, **headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_right_token_answers(guarded: RunningServer, module_fake: FakeChatServer) -> None:
    transport = StreamableHttpTransport(f"{guarded.base}/mcp", auth=BearerAuth(TOKEN))
    async with Client(transport) as client:
        result = await client.call_tool("docs_chat", {"prompt": "Authenticated?"})
    assert result.structured_content == {"success": True, "response": "[inkeep] Authenticated?"}
    # The provider gets the provider key, never the client's token.
    assert module_fake.last.headers["authorization"] == f"Bearer {INKEEP_KEY}"


def test_tokens_never_reach_the_log(guarded: RunningServer) -> None:
    initialize(guarded, **bearer(WRONG_TOKEN))  # a rejected attempt is logged too
    logs = guarded.logs()
    assert "DEBUG" in logs  # the server really ran at DEBUG
    assert "auth=StaticBearerVerifier" in logs
    assert TOKEN not in logs
    assert WRONG_TOKEN not in logs


async def test_sse_is_guarded_too(module_fake: FakeChatServer, tmp_path: Path) -> None:
    env = provider_env(module_fake) | {"DOCS_AUTH_TOKEN": TOKEN}
    with http_server("sse", env, tmp_path) as server:
        denied = httpx.get(f"{server.base}/sse", timeout=5)
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Bearer")
        transport = SSETransport(f"{server.base}/sse", auth=BearerAuth(TOKEN))
        async with Client(transport) as client:
            result = await client.call_tool("docs_chat", {"prompt": "Over SSE?"})
    assert result.structured_content == {"success": True, "response": "[inkeep] Over SSE?"}
    assert TOKEN not in server.logs()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SERVER_CMD, *args],
        env=full_env(env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_public_bind_without_token_is_refused() -> None:
    done = run_cli("--transport", "sse", "--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 2
    assert ALLOW_UNAUTHENTICATED_FLAG in done.stderr
    assert "DOCS_AUTH_TOKEN" in done.stderr
    assert done.stderr.startswith("dh-mcp-docs-server: refusing to listen on 0.0.0.0")
    assert "Traceback" not in done.stderr


def test_short_token_is_refused_without_echoing_it() -> None:
    done = run_cli(env={"DOCS_AUTH_TOKEN": "abc123-short"})
    assert done.returncode == 2
    assert "DOCS_AUTH_TOKEN is too short" in done.stderr
    assert "abc123-short" not in done.stderr


def test_stdio_ignores_the_bind_rule(tmp_path: Path) -> None:
    # stdio never listens, so --host is irrelevant: the server starts and ends with stdin.
    done = subprocess.run(
        [SERVER_CMD, "--transport", "stdio", "--host", "0.0.0.0"],
        env=full_env({}),
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_opt_out_flag_starts_with_a_warning(module_fake: FakeChatServer, tmp_path: Path) -> None:
    env = provider_env(module_fake)
    # Bound to all interfaces for a moment; probed and stopped through 127.0.0.1 only.
    with http_server(
        "streamable-http",
        env,
        tmp_path,
        host="0.0.0.0",
        extra_args=[ALLOW_UNAUTHENTICATED_FLAG],
    ) as server:
        logs = server.logs()
    assert "WARNING" in logs
    assert "WITHOUT authentication" in logs


def test_bind_check_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    open_settings = DocsSettings.from_env({})
    authed = DocsSettings.from_env({"DOCS_AUTH_TOKEN": TOKEN})
    check_http_bind(open_settings, "127.0.0.1", allow_unauthenticated=False)
    check_http_bind(open_settings, "::1", allow_unauthenticated=False)
    check_http_bind(authed, "0.0.0.0", allow_unauthenticated=False)
    with pytest.raises(UnsafeBindError, match="DOCS_AUTH_TOKEN") as caught:
        check_http_bind(open_settings, "192.0.2.10", allow_unauthenticated=False)
    assert isinstance(caught.value, ConfigError)

    # run_server refuses before it builds or serves anything.
    def must_not_serve(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("served despite an unsafe bind")

    monkeypatch.setattr("deephaven_mcp.mcp_docs_server._cli._serve", must_not_serve)
    with pytest.raises(UnsafeBindError):
        run_server("streamable-http", host="0.0.0.0", port=1, settings=open_settings)

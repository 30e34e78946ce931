"""The systems server over real HTTP: Host/Origin guard, bearer and JWT auth, bind rule, audit.

Every server here is the real console script on a free loopback port, talking to a real
Deephaven worker; requests only ever go to 127.0.0.1 (forged names travel in headers).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from fastmcp.server.auth.providers.jwt import RSAKeyPair
from joserfc import jwk
from joserfc import jwt as jose_jwt
from mcp.shared.exceptions import MCPError

from tests._mcp_http import MALFORMED_HOSTS, post_initialize, raw_status
from tests._ports import free_port
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config
from tests.mcp_systems_server._http import HttpServer, http_server, run_to_exit

pytestmark = pytest.mark.integration

TOKEN_VAR = "DH_MCP_TEST_TOKEN"
SESSION = "community:config:p"
ISSUER = "https://issuer.test"
AUDIENCE = "deephaven-mcp"
SCOPE = "deephaven:use"
LIFETIME = 2 * 3600


def _initialize(server: HttpServer, headers: dict[str, str]) -> httpx.Response:
    return post_initialize(server.url, headers)


def _wait_for_log(server: HttpServer, needle: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while needle not in (text := server.log()):
        assert time.monotonic() < deadline, f"{needle!r} never logged:\n{text[-3000:]}"
        time.sleep(0.05)
    return text


def _audit_records(log: str) -> list[dict[str, Any]]:
    """The audit stream's lines (one JSON object each) among the server's stderr."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def bearer(
    dh_psk_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[HttpServer, str]]:
    token = secrets.token_urlsafe(32)
    config = {
        "community": {"sessions": {"p": session_config(dh_psk_worker)}},
        "security": {
            "http": {
                "allowed_hosts": ["mcp.example.test"],
                "allowed_origins": ["https://app.example.test"],
                "auth": {"type": "bearer", "token_env_var": TOKEN_VAR},
            }
        },
    }
    tmp = tmp_path_factory.mktemp("bearer")
    with http_server(tmp, config, env={TOKEN_VAR: token}) as server:
        yield server, token
    log = server.log()
    assert token not in log
    assert dh_psk_worker.psk and dh_psk_worker.psk not in log


# --- Host and Origin --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forged", "status"),
    [
        ({"host": "evil.example"}, 421),
        ({"host": "evil.example:80"}, 421),
        ({"host": "127.0.0.1.evil.example"}, 421),
        ({"origin": "http://evil.example"}, 403),
        ({"origin": "null"}, 403),
        ({"origin": "https://app.example.test.evil.example"}, 403),
    ],
)
def test_forged_host_or_origin_is_refused(
    bearer: tuple[HttpServer, str], forged: dict[str, str], status: int
) -> None:
    server, token = bearer
    response = _initialize(server, forged | {"authorization": f"Bearer {token}"})
    assert response.status_code == status
    assert len(response.text) < 100


@pytest.mark.parametrize(
    "headers",
    [
        {},  # non-browser clients send no Origin
        {"origin": "https://app.example.test"},  # listed by the operator
        {"origin": "HTTPS://App.Example.Test:443"},  # the same origin, spelled otherwise
        {"origin": "http://127.0.0.1:{port}"},  # the server's own origin, three spellings
        {"origin": "http://localhost:{port}"},
        {"origin": "http://[::1]:{port}"},
        {"host": "mcp.example.test"},  # a listed host name
        {"host": "localhost"},  # loopback with and without the port
        {"host": "[::1]:{port}"},
    ],
)
def test_allowed_hosts_and_origins_pass(
    bearer: tuple[HttpServer, str], headers: dict[str, str]
) -> None:
    server, token = bearer
    headers = {name: value.format(port=server.port) for name, value in headers.items()}
    response = _initialize(server, headers | {"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


# Pages on this machine that are not this server: another port, another loopback address,
# another scheme. Each could otherwise script a server that trusts "anything loopback".
OTHER_LOOPBACK_ORIGINS = (
    "http://localhost:1",
    "http://[::1]:9",
    "http://127.0.0.2:{port}",
    "https://localhost:{port}",
    "http://localhost",
    "null",
)


@pytest.mark.parametrize("origin", OTHER_LOOPBACK_ORIGINS)
def test_other_loopback_origins_are_refused(bearer: tuple[HttpServer, str], origin: str) -> None:
    server, token = bearer
    headers = {"origin": origin.format(port=server.port), "authorization": f"Bearer {token}"}
    response = _initialize(server, headers)
    assert response.status_code == 403
    assert response.text == "Forbidden Origin"


@pytest.mark.parametrize("hosts", MALFORMED_HOSTS)
def test_malformed_host_is_400(bearer: tuple[HttpServer, str], hosts: list[str]) -> None:
    server, token = bearer
    headers = [("host", host.format(port=server.port)) for host in hosts]
    headers.append(("authorization", f"Bearer {token}"))
    assert raw_status(server.port, headers) == 400
    assert raw_status(server.port, headers[:-1], method="GET", path="/health") == 400


def test_two_authorization_headers_are_400(bearer: tuple[HttpServer, str]) -> None:
    server, token = bearer
    host = ("host", f"127.0.0.1:{server.port}")
    good = ("authorization", f"Bearer {token}")
    assert raw_status(server.port, [host, good]) == 200  # the control
    assert raw_status(server.port, [host, good, good]) == 400
    assert raw_status(server.port, [host, good, ("authorization", "Bearer wrong")]) == 400
    assert raw_status(server.port, [host, ("authorization", "Bearer wrong"), good]) == 400


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """No authentication, loopback only: the Origin check is all that stops a local page."""
    with http_server(tmp_path_factory.mktemp("open"), {}) as server:
        yield server


def _client(server: HttpServer, origin: str) -> Client[StreamableHttpTransport]:
    return Client(StreamableHttpTransport(server.url, headers={"origin": origin}))


@pytest.mark.parametrize("origin", OTHER_LOOPBACK_ORIGINS)
async def test_a_loopback_page_cannot_drive_an_open_server(
    open_server: HttpServer, origin: str
) -> None:
    origin = origin.format(port=open_server.port)
    assert _initialize(open_server, {"origin": origin}).status_code == 403
    call = {"name": "mcp_reload", "arguments": {}}
    body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    headers = [("host", f"127.0.0.1:{open_server.port}"), ("origin", origin)]
    assert raw_status(open_server.port, headers, body=body.encode()) == 403
    # The client reports any non-2xx answer this way; the raw requests above show the 403.
    with pytest.raises(MCPError, match="Server returned an error response"):
        async with _client(open_server, origin) as client:
            await client.call_tool("sessions_list", {})
    assert not any(r["tool"] == "mcp_reload" for r in _audit_records(open_server.log()))


async def test_the_servers_own_page_can_use_an_open_server(open_server: HttpServer) -> None:
    async with _client(open_server, f"http://localhost:{open_server.port}") as client:
        listed = await client.call_tool("sessions_list", {})
    assert listed.structured_content["success"] is True


# --- bearer token -----------------------------------------------------------------------


def test_missing_or_wrong_token_gets_401(bearer: tuple[HttpServer, str]) -> None:
    server, token = bearer
    missing = _initialize(server, {})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for wrong in (token[:-1], token + "x", "x" * len(token), f"Basic {token}"):
        header = wrong if wrong.startswith("Basic") else f"Bearer {wrong}"
        refused = _initialize(server, {"authorization": header})
        assert refused.status_code == 401, wrong
        assert refused.headers["www-authenticate"].startswith("Bearer")


def test_health_needs_no_token_and_says_nothing(bearer: tuple[HttpServer, str]) -> None:
    server, _token = bearer
    response = httpx.get(f"{server.base}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_right_token_runs_tools_and_is_audited(bearer: tuple[HttpServer, str]) -> None:
    server, token = bearer
    marker = f"marker_{secrets.token_hex(8)}"
    async with Client(server.url, auth=token) as client:
        listed = await client.call_tool("sessions_list", {})
        assert SESSION in {s["session_id"] for s in listed.structured_content["sessions"]}
        data = await client.call_tool(
            "session_table_data",
            {"session_id": SESSION, "table_name": "simple_people", "format": "csv"},
        )
        assert data.structured_content["data"].startswith("Name,Age,City")
        ran = await client.call_tool(
            "session_script_run", {"session_id": SESSION, "script": f"{marker} = 1"}
        )
        assert ran.structured_content["success"] is True
        await client.call_tool("mcp_reload", {})
    log = _wait_for_log(server, '"tool": "mcp_reload"')
    records = {record["tool"]: record for record in _audit_records(log)}
    assert set(records) == {"session_script_run", "mcp_reload"}  # reading is not audited
    ran_record = records["session_script_run"]
    assert (ran_record["session"], ran_record["outcome"]) == (SESSION, "ok")
    assert ran_record["caller"] == records["mcp_reload"]["caller"] == "bearer-token (token)"
    assert records["mcp_reload"]["transport"] == "streamable-http"
    assert marker not in log  # never the script body
    assert token not in log


# --- JWT --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> RSAKeyPair:
    return RSAKeyPair.generate()


def _token(keys: RSAKeyPair, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "subject": "alice",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "scopes": [SCOPE, "other"],
    }
    claims.update(overrides)
    return keys.create_token(**claims)


def _signed(keys: RSAKeyPair, claims: dict[str, Any]) -> str:
    """A token with exactly ``claims``, signed by ``keys`` (create_token always sets exp)."""
    key = jwk.RSAKey.import_key(keys.private_key.get_secret_value())
    return jose_jwt.encode({"alg": "RS256"}, claims, key)


def _jwt_config(worker: RunningWorker, **auth: Any) -> dict[str, Any]:
    jwt = {"type": "jwt", "issuer": ISSUER, "audience": AUDIENCE, **auth}
    return {
        "community": {"sessions": {"p": session_config(worker)}},
        "security": {"http": {"auth": jwt}},
    }


@pytest.fixture(scope="module")
def jwt_server(
    dh_psk_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory, keys: RSAKeyPair
) -> Iterator[HttpServer]:
    tmp = tmp_path_factory.mktemp("jwt")
    key_path = tmp / "issuer.pem"
    key_path.write_text(keys.public_key)
    config = _jwt_config(
        dh_psk_worker,
        public_key_path=str(key_path),
        required_scopes=[SCOPE],
        authorization_servers=[ISSUER],
        base_url="https://mcp.example.test",
        max_token_lifetime_seconds=LIFETIME,
    )
    with http_server(tmp, config) as server:
        yield server


async def test_jwt_signed_by_the_issuer_is_accepted(
    jwt_server: HttpServer, keys: RSAKeyPair
) -> None:
    async with Client(jwt_server.url, auth=_token(keys)) as client:
        listed = await client.call_tool("sessions_list", {})
        assert listed.structured_content["success"] is True
        await client.call_tool("session_script_run", {"session_id": SESSION, "script": "y = 2"})
    log = _wait_for_log(jwt_server, '"tool": "session_script_run"')
    [ran] = [r for r in _audit_records(log) if r["tool"] == "session_script_run"]
    assert (ran["session"], ran["caller"]) == (SESSION, "alice (token)")


@pytest.mark.parametrize(
    "overrides",
    [
        {"expires_in_seconds": -60},
        {"audience": "some-other-api"},
        {"issuer": "https://evil.test"},
        {"scopes": ["other"]},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "missing-scope"],
)
def test_bad_jwts_are_refused(
    jwt_server: HttpServer, keys: RSAKeyPair, overrides: dict[str, Any]
) -> None:
    response = _initialize(jwt_server, {"authorization": f"Bearer {_token(keys, **overrides)}"})
    assert response.status_code in (401, 403)
    assert response.headers["www-authenticate"].startswith("Bearer")


def _claims(**offsets: int | None) -> dict[str, Any]:
    """Claims with times as seconds from now (iat 0, exp +600 unless given); None drops one."""
    now = int(time.time())
    times = {"iat": 0, "exp": 600} | offsets
    claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "scope": SCOPE}
    return claims | {name: now + offset for name, offset in times.items() if offset is not None}


@pytest.mark.parametrize(
    "offsets",
    [
        {"exp": None},  # a token that never expires
        {"iat": 86400},  # issued a day from now
        {"iat": 120},  # beyond the 30 s skew
        {"nbf": 600},  # not valid yet
        {"exp": LIFETIME + 60},  # longer than max_token_lifetime_seconds
        {"iat": None, "exp": LIFETIME + 60},  # the same, measured from now
        {"iat": -LIFETIME, "exp": 60},  # long-lived, though nearly over
    ],
    ids=[
        "no-exp",
        "iat-a-day-ahead",
        "iat-ahead",
        "nbf-ahead",
        "too-long",
        "too-long-no-iat",
        "too-long-old",
    ],
)
def test_jwt_time_rules(
    jwt_server: HttpServer, keys: RSAKeyPair, offsets: dict[str, int | None]
) -> None:
    token = _signed(keys, _claims(**offsets))
    response = _initialize(jwt_server, {"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "offsets",
    [
        {},
        {"iat": 20, "nbf": 20},  # a clock a little ahead: within the skew
        {"iat": None, "exp": LIFETIME - 60},
        {"iat": -60, "exp": LIFETIME - 120},
    ],
)
def test_jwt_within_the_time_rules_is_served(
    jwt_server: HttpServer, keys: RSAKeyPair, offsets: dict[str, int | None]
) -> None:
    token = _signed(keys, _claims(**offsets))
    response = _initialize(jwt_server, {"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_jwt_from_another_key_is_refused(jwt_server: HttpServer) -> None:
    forged = _token(RSAKeyPair.generate())
    response = _initialize(jwt_server, {"authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_protected_resource_metadata_is_served(jwt_server: HttpServer) -> None:
    challenge = _initialize(jwt_server, {}).headers["www-authenticate"]
    assert "resource_metadata=" in challenge
    metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
    path = metadata_url.split("mcp.example.test", 1)[1]
    metadata = httpx.get(f"{jwt_server.base}{path}", timeout=10).json()
    assert metadata["resource"] == "https://mcp.example.test/mcp"
    assert metadata["authorization_servers"] == [f"{ISSUER}/"]
    assert SCOPE in metadata["scopes_supported"]


class _JwksHandler(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


async def test_jwt_checked_against_a_jwks_url(
    dh_psk_worker: RunningWorker, tmp_path: Path, keys: RSAKeyPair
) -> None:
    public = jwk.RSAKey.import_key(keys.public_key).as_dict(private=False)
    body = json.dumps({"keys": [public | {"kid": "k1", "use": "sig"}]}).encode()
    handler = type("Jwks", (_JwksHandler,), {"body": body})
    jwks = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    try:
        jwks_uri = f"http://127.0.0.1:{jwks.server_address[1]}/jwks.json"
        config = _jwt_config(dh_psk_worker, jwks_uri=jwks_uri)
        with http_server(tmp_path, config) as server:
            async with Client(server.url, auth=_token(keys, kid="k1")) as client:
                listed = await client.call_tool("sessions_list", {})
                assert listed.structured_content["success"] is True
            forged = _token(RSAKeyPair.generate(), kid="k1")
            assert _initialize(server, {"authorization": f"Bearer {forged}"}).status_code == 401
    finally:
        jwks.shutdown()
        jwks.server_close()


# --- binding beyond loopback ------------------------------------------------------------


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_non_loopback_bind_without_auth_refuses_to_start(tmp_path: Path, transport: str) -> None:
    finished = run_to_exit(
        tmp_path, {}, ("--transport", transport, "--host", "0.0.0.0", "--port", str(free_port()))
    )
    assert finished.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in finished.stderr
    assert "--dangerously-allow-unauthenticated-network" in finished.stderr


def test_missing_token_variable_refuses_to_start(tmp_path: Path) -> None:
    config = {"security": {"http": {"auth": {"type": "bearer", "token_env_var": "NOT_SET_X1"}}}}
    finished = run_to_exit(tmp_path, config, ("--transport", "streamable-http"))
    assert finished.returncode == 2
    assert "NOT_SET_X1 is not set" in finished.stderr


def test_opt_out_starts_with_a_warning(tmp_path: Path) -> None:
    with http_server(
        tmp_path, {}, args=("--host", "0.0.0.0", "--dangerously-allow-unauthenticated-network")
    ) as server:
        assert httpx.get(f"{server.base}/health", timeout=10).status_code == 200
        log = _wait_for_log(server, "WITHOUT authentication")
    assert "WARNING" in log.split("WITHOUT authentication")[0].splitlines()[-1]


def test_authenticated_server_may_bind_beyond_loopback(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    config = {"security": {"http": {"auth": {"type": "bearer", "token_env_var": TOKEN_VAR}}}}
    with http_server(
        tmp_path, config, env={TOKEN_VAR: token}, args=("--host", "0.0.0.0")
    ) as server:
        assert _initialize(server, {}).status_code == 401
        assert _initialize(server, {"authorization": f"Bearer {token}"}).status_code == 200
    assert "WITHOUT authentication" not in server.log()


def test_sse_is_guarded_too(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    config = {"security": {"http": {"auth": {"type": "bearer", "token_env_var": TOKEN_VAR}}}}
    with http_server(tmp_path, config, env={TOKEN_VAR: token}, transport="sse") as server:
        sse = f"{server.base}/sse"
        auth = {"authorization": f"Bearer {token}"}
        assert httpx.get(sse, headers=auth | {"host": "evil.example"}).status_code == 421
        assert httpx.get(sse, headers=auth | {"origin": "http://evil.example"}).status_code == 403
        assert httpx.get(sse, timeout=10).status_code == 401
        with httpx.stream("GET", sse, headers=auth, timeout=10) as response:
            assert response.status_code == 200


def test_community_test_client_script_sends_the_token(bearer: tuple[HttpServer, str]) -> None:
    server, token = bearer
    script = Path(__file__).resolve().parents[2] / "scripts" / "mcp_community_test_client.py"
    env = dict(os.environ) | {"DH_MCP_TEST_CLIENT_TOKEN": token}
    finished = subprocess.run(
        [
            sys.executable,
            str(script),
            "--url",
            server.url,
            "--token-env",
            "DH_MCP_TEST_CLIENT_TOKEN",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "[ok] session_table_data" in finished.stdout
    assert token not in finished.stdout + finished.stderr


@pytest.mark.parametrize("transport", ["stdio", "streamable-http"])
def test_malformed_environment_refuses_to_start(tmp_path: Path, transport: str) -> None:
    finished = run_to_exit(
        tmp_path, {}, ("--transport", transport), env={"DH_MCP_DATA_TIMEOUT": "soon"}
    )
    assert finished.returncode == 2
    assert "DH_MCP_DATA_TIMEOUT: input should be a valid number" in finished.stderr
    assert "Traceback" not in finished.stderr

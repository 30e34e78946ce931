"""Pure policy of HTTP exposure: bind rule, bearer check, Host and Origin rules, JWT time
rules, config validation (no Java, no server)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair
from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.types import Message, Scope

from deephaven_mcp.config import parse_config
from deephaven_mcp.config.models import HttpSecurity
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.serving.http_guard import (
    HostPort,
    StrictHostOriginGuard,
    is_loopback_host,
    normalize_origin,
    own_origins,
    parse_host,
)
from deephaven_mcp.serving.http_jwt import StrictJWTVerifier, time_claims_problem
from deephaven_mcp.serving.http_security import (
    ALLOW_UNAUTHENTICATED_FLAG,
    HttpExposure,
    StaticBearerVerifier,
    UnsafeBindError,
    auth_provider,
    check_bind,
    serve_http,
)

TOKEN = "s3cret-token-0123456789abcdef"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "localhost", "LOCALHOST", "::1", "[::1]", " 127.0.0.1 "]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "localhost.evil", ""]
)
def test_non_loopback_hosts(host: str) -> None:
    assert not is_loopback_host(host)


def test_non_loopback_bind_without_auth_is_refused() -> None:
    with pytest.raises(UnsafeBindError) as caught:
        check_bind(
            "0.0.0.0", authenticated=False, allow_unauthenticated=False, how_to_authenticate="set X"
        )
    assert ALLOW_UNAUTHENTICATED_FLAG in str(caught.value)
    assert "0.0.0.0" in str(caught.value)


def test_loopback_or_authenticated_binds_pass_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_bind(
            "127.0.0.1",
            authenticated=False,
            allow_unauthenticated=False,
            how_to_authenticate="set X",
        )
        check_bind(
            "0.0.0.0", authenticated=True, allow_unauthenticated=False, how_to_authenticate="set X"
        )
    assert not caplog.records


def test_opt_out_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_bind(
            "0.0.0.0", authenticated=False, allow_unauthenticated=True, how_to_authenticate="set X"
        )
    assert any(
        r.levelno == logging.WARNING and "WITHOUT authentication" in r.getMessage()
        for r in caplog.records
    )


async def test_static_bearer_accepts_only_the_token() -> None:
    verifier = StaticBearerVerifier(TOKEN)
    accepted = await verifier.verify_token(TOKEN)
    assert accepted is not None and accepted.client_id == "bearer-token"
    for wrong in ("", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "Bearer " + TOKEN, "x" * 4096):
        assert await verifier.verify_token(wrong) is None
    assert TOKEN not in repr(verifier.__dict__)  # only a digest is kept


def test_bearer_token_comes_from_the_named_variable() -> None:
    security = HttpSecurity.model_validate(
        {"auth": {"type": "bearer", "token_env_var": "MY_TOKEN"}}
    )
    assert isinstance(auth_provider(security, {"MY_TOKEN": TOKEN}), StaticBearerVerifier)
    with pytest.raises(ConfigError, match="MY_TOKEN is not set"):
        auth_provider(security, {})
    with pytest.raises(ConfigError, match="MY_TOKEN is not set"):
        auth_provider(security, {"MY_TOKEN": "   "})
    with pytest.raises(ConfigError, match="too short") as caught:
        auth_provider(security, {"MY_TOKEN": "short-token"})
    assert "short-token" not in str(caught.value)


def test_no_auth_configured_means_no_provider() -> None:
    assert auth_provider(HttpSecurity(), {}) is None


def test_our_guard_replaces_fastmcps_and_gets_the_operators_lists() -> None:
    exposure = HttpExposure.from_security(
        HttpSecurity(allowed_hosts=["mcp.example.com"], allowed_origins=["https://a.example"]),
        {},
    )
    options = exposure.guard_options()
    assert options["host_origin_protection"] is False  # ours stands in its place
    [guard] = options["middleware"]
    assert guard.cls is StrictHostOriginGuard
    assert issubclass(StrictHostOriginGuard, HostOriginGuardMiddleware)
    assert guard.kwargs == {
        "allowed_hosts": ["mcp.example.com"],
        "allowed_origins": ["https://a.example"],
    }


def _config_error(security: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(__import__("json").dumps({"security": {"http": security}}), "c.json")
    return str(caught.value)


def test_config_errors_name_the_key() -> None:
    assert "security.http.auth.token_env_var: must be the name of an environment variable" in (
        _config_error({"auth": {"type": "bearer", "token_env_var": "abc def 123"}})
    )
    assert "security.http.auth" in _config_error({"auth": {"type": "basic"}})
    assert "security.http.allowed_origins" in _config_error({"allowed_origins": ["evil.example"]})
    assert "security.http.allowed_hosts" in _config_error({"allowed_hosts": ["http://x/"]})
    assert "security.http.unknown: unknown key" in _config_error({"unknown": 1})


def test_jwt_config_rules() -> None:
    base = {"type": "jwt", "issuer": "https://issuer", "audience": "mcp"}
    assert "exactly one of" in _config_error({"auth": base})
    assert "exactly one of" in _config_error(
        {"auth": base | {"jwks_uri": "https://i/jwks", "public_key": "PEM"}}
    )
    assert "needs 'base_url'" in _config_error(
        {"auth": base | {"jwks_uri": "https://i/jwks", "authorization_servers": ["https://i"]}}
    )
    assert "audience" in _config_error(
        {"auth": {"type": "jwt", "issuer": "https://i", "jwks_uri": "https://i/jwks"}}
    )
    assert "algorithm" in _config_error(
        {"auth": base | {"jwks_uri": "https://i/jwks", "algorithm": "HS256"}}
    )


def test_unreadable_public_key_is_a_config_error(tmp_path: object) -> None:
    security = HttpSecurity.model_validate(
        {
            "auth": {
                "type": "jwt",
                "public_key_path": "/nonexistent/key.pem",
                "issuer": "https://i",
                "audience": "mcp",
            }
        }
    )
    with pytest.raises(ConfigError, match=r"cannot read /nonexistent/key\.pem"):
        auth_provider(security, {})


def test_bare_wildcards_are_reported() -> None:
    exposure = HttpExposure.from_security(
        HttpSecurity(allowed_hosts=["*.example.com"], allowed_origins=["*"]), {}
    )
    assert exposure.wildcards() == ["allowed_origins"]
    assert "allowed hosts: *.example.com" in exposure.describe()
    assert HttpExposure().wildcards() == []


def test_messages_can_drop_the_config_key() -> None:
    security = HttpSecurity.model_validate({"auth": {"type": "bearer", "token_env_var": "T"}})
    with pytest.raises(ConfigError) as caught:
        auth_provider(security, {"T": "short-token"}, where="")
    assert str(caught.value).startswith("the token in T is too short")


# --- Host and Origin rules ----------------------------------------------------------------

PORT = 8123


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("localhost", HostPort("localhost")),
        ("LocalHost:8123", HostPort("localhost", 8123)),
        ("127.0.0.1:1", HostPort("127.0.0.1", 1)),
        ("[::1]:65535", HostPort("::1", 65535)),
        ("[0:0:0:0:0:0:0:1]", HostPort("::1")),  # IPv6 in canonical form
        ("mcp.example.com:0443", HostPort("mcp.example.com", 443)),
        ("docs_server:8001", HostPort("docs_server", 8001)),  # Docker service names
        ("a-b.example.", HostPort("a-b.example.")),
    ],
)
def test_well_formed_hosts(value: str, parsed: HostPort) -> None:
    assert parse_host(value) == parsed


@pytest.mark.parametrize(
    "value",
    [
        "",
        "localhost:8123@evil.com",
        "user@localhost:8123",
        "localhost:abc",
        "localhost:",
        "localhost:8123, evil.com",
        "localhost:8123,evil.com",
        "localhost 8123",
        " localhost",
        "localhost/path",
        "localhost:0",
        "localhost:65536",
        "localhost:99999999999",
        "localhost:" + "9" * 5000,  # longer than int() accepts: must not become a 500
        "localhost:8123:1",
        "::1",  # IPv6 without brackets
        "[::1",
        "[::1]x",
        "[fe80::1%25eth0]",
        "[localhost]",
        "127.1",  # a mangled IPv4 address, not a name
        "999.0.0.1",
        "-evil.example",
        "evil-.example",
        "a..b",
        "x" * 64 + ".example",
        "ex\\u00e4mple.com",
        "exämple.com",
        "localhost:８１２３",  # fullwidth digits
    ],
)
def test_malformed_hosts(value: str) -> None:
    assert parse_host(value) is None


@pytest.mark.parametrize(
    ("origin", "normalized"),
    [
        ("http://localhost:8123", "http://localhost:8123"),
        ("HTTP://LOCALHOST:8123", "http://localhost:8123"),
        ("https://app.example.com", "https://app.example.com:443"),
        ("https://app.example.com:443", "https://app.example.com:443"),
        ("http://app.example.com", "http://app.example.com:80"),
        ("http://app.example.com/", "http://app.example.com:80"),  # operators write this
        ("http://[0::1]:9", "http://[::1]:9"),
    ],
)
def test_origins_normalise_case_and_default_ports(origin: str, normalized: str) -> None:
    assert normalize_origin(origin) == normalized


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "",
        "*",
        "https://*.example.com",
        "app.example.com",
        "ftp://app.example.com",
        "chrome-extension://abcdef",
        "file://",
        "https://app.example.com/path",
        "https://app.example.com?x",
        "https://app.example.com#x",
        "https://user@app.example.com",
        "https://app.example.com:abc",
        "https://app.example.com:0",
    ],
)
def test_non_origins(origin: str) -> None:
    assert normalize_origin(origin) is None


def test_own_origins_are_the_loopback_spellings_on_the_port() -> None:
    assert own_origins("http", PORT) == {
        f"http://127.0.0.1:{PORT}",
        f"http://localhost:{PORT}",
        f"http://[::1]:{PORT}",
    }


def _guard(hosts: list[str] | None = None, origins: list[str] | None = None) -> Any:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        raise AssertionError("not called in these tests")

    return StrictHostOriginGuard(app, allowed_hosts=hosts, allowed_origins=origins)


def _scope(*headers: tuple[str, str], server: tuple[str, int] = ("127.0.0.1", PORT)) -> Scope:
    return {
        "type": "http",
        "scheme": "http",
        "server": server,
        "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in headers],
    }


HOST = ("host", f"127.0.0.1:{PORT}")


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:1",
        "http://[::1]:9",
        f"http://127.0.0.2:{PORT}",
        f"https://localhost:{PORT}",
        "https://localhost",
        "http://localhost",
        "null",
        "http://evil.example",
        "https://app.example.com.evil.example",
        "https://app.example.com:8443",
    ],
)
def test_foreign_and_other_loopback_origins_are_403(origin: str) -> None:
    guard = _guard(origins=["https://app.example.com"])
    assert guard.refusal(_scope(HOST, ("origin", origin))) == (403, "Forbidden Origin")


@pytest.mark.parametrize(
    "origin",
    [
        f"http://127.0.0.1:{PORT}",
        f"http://localhost:{PORT}",
        f"http://[::1]:{PORT}",
        f"HTTP://LocalHost:{PORT}",
        "https://app.example.com",
        "https://APP.example.com:443",
    ],
)
def test_own_and_listed_origins_pass(origin: str) -> None:
    guard = _guard(origins=["https://app.example.com/"])
    assert guard.refusal(_scope(HOST, ("origin", origin))) is None
    assert guard.refusal(_scope(HOST)) is None  # no Origin: not a browser


def test_bare_star_switches_the_origin_check_off_and_nothing_else_does() -> None:
    for origin in ("null", "http://localhost:1", "http://evil.example"):
        assert _guard(origins=["*"]).refusal(_scope(HOST, ("origin", origin))) is None
    patterned = _guard(origins=["https://*.example.com", "http://localhost:*"])
    for origin in ("https://a.example.com", "http://localhost:1"):
        assert patterned.refusal(_scope(HOST, ("origin", origin))) == (403, "Forbidden Origin")


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("host", f"localhost:{PORT}@evil.com")],
        [("host", "localhost:abc")],
        [("host", f"localhost:{PORT}, evil.com")],
        [HOST, ("host", "evil.com")],
        [("host", "evil.com:abc")],  # malformed beats foreign
    ],
)
def test_malformed_host_is_400(headers: list[tuple[str, str]]) -> None:
    status, text = _guard(hosts=["*"]).refusal(_scope(*headers)) or (0, "")
    assert (status, text) == (400, "Bad Request: malformed Host header")


def test_repeated_authorization_or_origin_is_400() -> None:
    guard = _guard()
    two_auth = _scope(HOST, ("authorization", "Bearer a"), ("Authorization", "Bearer b"))
    assert guard.refusal(two_auth) == (400, "Bad Request: more than one Authorization header")
    two_origins = _scope(HOST, ("origin", f"http://localhost:{PORT}"), ("origin", "null"))
    assert guard.refusal(two_origins) == (400, "Bad Request: more than one Origin header")
    assert guard.refusal(_scope(HOST, ("authorization", "Bearer a"))) is None


@pytest.mark.parametrize(
    ("host", "server", "status"),
    [
        ("localhost", ("127.0.0.1", PORT), None),
        ("127.0.0.5:1", ("127.0.0.1", PORT), None),
        ("[::1]", ("127.0.0.1", PORT), None),
        ("10.1.2.3:8123", ("10.1.2.3", PORT), None),  # the bound address
        ("mcp.example.com", ("127.0.0.1", PORT), None),  # listed; port ignored
        ("mcp.example.com:8443", ("127.0.0.1", PORT), None),
        ("a.corp.example", ("127.0.0.1", PORT), None),  # *.corp.example
        ("evil.example", ("127.0.0.1", PORT), 421),
        ("corp.example", ("127.0.0.1", PORT), 421),
        ("127.0.0.1.evil.example", ("127.0.0.1", PORT), 421),
        ("0.0.0.0", ("0.0.0.0", PORT), 421),  # an unspecified bind is no host name
        ("10.1.2.3", ("10.9.9.9", PORT), 421),
    ],
)
def test_host_allow_list(host: str, server: tuple[str, int], status: int | None) -> None:
    guard = _guard(hosts=["MCP.example.com:443", "*.corp.example"])
    refusal = guard.refusal(_scope(("host", host), server=server))
    assert (refusal and refusal[0]) == status


async def test_guard_answers_before_the_app_and_passes_other_scopes() -> None:
    called: list[str] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        called.append(scope["type"])

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    guard = StrictHostOriginGuard(app)
    await guard({"type": "lifespan"}, receive, send)
    await guard(_scope(HOST), receive, send)
    await guard(_scope(HOST, ("origin", "http://localhost:1")), receive, send)
    assert called == ["lifespan", "http"]
    assert sent[0]["status"] == 403
    assert sent[1]["body"] == b"Forbidden Origin"


class _RecordingServer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def run(self, transport: str, **options: Any) -> None:
        self.calls.append((transport, options))


def test_serve_http_installs_the_guard_and_warns_about_dead_origins(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exposure = HttpExposure(allowed_origins=("https://*.example.com", "https://ok.example"))
    assert exposure.unusable_origins() == ["https://*.example.com"]
    server = _RecordingServer()
    with caplog.at_level(logging.WARNING):
        serve_http(server, "sse", host="127.0.0.1", port=PORT, exposure=exposure)
    [(transport, options)] = server.calls
    assert transport == "sse"
    assert options["host_origin_protection"] is False
    assert options["middleware"][0].cls is StrictHostOriginGuard
    assert "'https://*.example.com' never matches" in caplog.text
    assert "ok.example" not in caplog.text


# --- JWT time rules -------------------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("claims", "max_lifetime", "problem"),
    [
        ({"exp": NOW + 60, "iat": NOW}, None, None),
        ({"exp": NOW + 60}, None, None),
        ({"exp": NOW + 60, "iat": NOW + 30, "nbf": NOW + 30}, None, None),  # within skew
        ({"exp": NOW + 3600, "iat": NOW}, 3600, None),
        ({"exp": NOW + 3600}, 3600, None),
        ({"exp": NOW + 1800, "iat": NOW - 1800}, 3600, None),
        ({}, None, "no numeric exp claim"),
        ({"iat": NOW}, None, "no numeric exp claim"),
        ({"exp": "soon"}, None, "no numeric exp claim"),
        ({"exp": True}, None, "no numeric exp claim"),
        ({"exp": NOW - 1}, None, "expired"),
        ({"exp": NOW + 60, "iat": NOW + 31}, None, "iat is in the future"),
        ({"exp": NOW + 86400 * 2, "iat": NOW + 86400}, None, "iat is in the future"),
        ({"exp": NOW + 60, "nbf": NOW + 31}, None, "nbf is in the future"),
        ({"exp": NOW + 60, "iat": "now"}, None, "iat claim is not a number"),
        ({"exp": NOW + 60, "nbf": None}, None, "nbf claim is not a number"),
        ({"exp": NOW + 3601, "iat": NOW}, 3600, "lifetime 3601s is longer than 3600s"),
        ({"exp": NOW + 3601}, 3600, "lifetime 3601s is longer than 3600s"),
        ({"exp": NOW + 60, "iat": NOW - 7200}, 3600, "lifetime 7260s is longer than 3600s"),
    ],
)
def test_jwt_time_claims(
    claims: dict[str, Any], max_lifetime: int | None, problem: str | None
) -> None:
    assert time_claims_problem(claims, NOW, max_lifetime) == problem


async def test_strict_jwt_verifier_keeps_fastmcps_checks_and_adds_the_time_rules() -> None:
    keys = RSAKeyPair.generate()
    verifier = StrictJWTVerifier(
        max_token_lifetime_seconds=7200,
        public_key=keys.public_key,
        issuer="https://issuer.test",
        audience="mcp",
    )

    def token(**options: Any) -> str:
        claims: dict[str, Any] = {"issuer": "https://issuer.test", "audience": "mcp"}
        return keys.create_token(**(claims | options))

    now = int(time.time())
    good = await verifier.verify_token(token())
    assert good is not None and good.client_id == "fastmcp-user"
    assert await verifier.verify_token(token(expires_in_seconds=3 * 3600)) is None
    assert await verifier.verify_token(token(additional_claims={"iat": now + 86400})) is None
    assert await verifier.verify_token(token(additional_claims={"nbf": now + 600})) is None
    assert await verifier.verify_token(token(additional_claims={"exp": None})) is None
    assert await verifier.verify_token(token(audience="other")) is None  # fastmcp's check
    forged = RSAKeyPair.generate().create_token(issuer="https://issuer.test", audience="mcp")
    assert await verifier.verify_token(forged) is None


def test_jwt_provider_passes_the_lifetime_limit() -> None:
    keys = RSAKeyPair.generate()
    security = HttpSecurity.model_validate(
        {
            "auth": {
                "type": "jwt",
                "public_key": keys.public_key,
                "issuer": "https://i",
                "audience": "mcp",
                "max_token_lifetime_seconds": 600,
            }
        }
    )
    verifier = auth_provider(security, {})
    assert isinstance(verifier, StrictJWTVerifier)
    assert verifier.max_token_lifetime_seconds == 600

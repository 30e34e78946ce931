"""Pure policy of HTTP exposure: bind rule, bearer check, config validation (no Java)."""

from __future__ import annotations

import logging

import pytest

from deephaven_mcp._http_security import (
    ALLOW_UNAUTHENTICATED_FLAG,
    HttpExposure,
    StaticBearerVerifier,
    UnsafeBindError,
    auth_provider,
    check_bind,
    is_loopback_host,
)
from deephaven_mcp.config import parse_config
from deephaven_mcp.config.models import HttpSecurity
from deephaven_mcp.errors import ConfigError

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


def test_guard_is_strict_and_lists_what_the_operator_allowed() -> None:
    exposure = HttpExposure.from_security(
        HttpSecurity(allowed_hosts=["mcp.example.com"], allowed_origins=["https://a.example"]),
        {},
    )
    assert exposure.guard_options() == {
        "host_origin_protection": True,
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

"""Config parsing: JSON5, precise error paths, mutual exclusions, secrets, defaults."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from deephaven_mcp.config import load_config, parse_config, redacted_dict
from deephaven_mcp.config.auth_type import PSK_HANDLER, AuthType
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.runtime.logging import redact


def test_json5_comments_and_trailing_commas() -> None:
    config = parse_config(
        """{
          // line comment
          community: { sessions: { local: { host: "h", port: 10001, }, }, },
          /* block comment */
          security: { community: { credential_retrieval_mode: "dynamic_only" } },
        }""",
        "cfg",
    )
    assert config.community.sessions["local"].port == 10001
    assert config.security.community.credential_retrieval_mode == "dynamic_only"


def test_empty_file_and_empty_object_mean_no_sessions() -> None:
    assert parse_config("", "cfg").community.sessions == {}
    assert parse_config("{}", "cfg").enterprise.systems == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"community": {"sessions": {"prod": {"port": "x"}}}}',
            "community.sessions.prod.port: expected integer",
        ),
        (
            '{"community": {"sessions": {"prod": {"port": 1.5}}}}',
            "community.sessions.prod.port: expected integer",
        ),
        (
            '{"community": {"sessions": {"prod": {"prot": 1}}}}',
            "community.sessions.prod.prot: unknown key",
        ),
        ('{"bogus": 1}', "bogus: unknown key"),
        (
            '{"community": {"sessions": {"p": {"use_tls": "yes"}}}}',
            "community.sessions.p.use_tls: expected boolean",
        ),
        (
            '{"community": {"session_creation": {"defaults": {"heap_size_gb": "4"}}}}',
            "community.session_creation.defaults.heap_size_gb: expected number",
        ),
        (
            '{"community": {"sessions": {"p": {"port": 70000}}}}',
            "community.sessions.p.port: input should be less than or equal to 65535",
        ),
        (
            '{"enterprise": {"systems": {"e": {"auth_type": "password", "connection_json_url": "https://x/c.json"}}}}',
            "enterprise.systems.e: auth_type 'password' needs 'username'",
        ),
        (
            '{"security": {"community": {"credential_retrieval_mode": "some"}}}',
            "security.community.credential_retrieval_mode: input should be",
        ),
    ],
)
def test_errors_name_the_exact_path(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "deephaven_mcp.json")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("deephaven_mcp.json: ")


def test_token_and_env_var_are_mutually_exclusive() -> None:
    with pytest.raises(ConfigError, match="either 'auth_token' or 'auth_token_env_var'"):
        parse_config(
            '{"community": {"sessions": {"p": {"auth_token": "abcdef", "auth_token_env_var": "X"}}}}',
            "cfg",
        )


def test_basic_auth_is_refused_for_dynamic_sessions() -> None:
    with pytest.raises(ConfigError, match="only 'PSK' or 'Anonymous'"):
        parse_config(
            '{"community": {"session_creation": {"defaults": {"auth_type": "Basic"}}}}', "c"
        )


def test_psk_shorthand_is_normalised() -> None:
    config = parse_config('{"community": {"sessions": {"p": {"auth_type": "psk"}}}}', "c")
    auth_type = config.community.sessions["p"].auth_type
    assert auth_type is AuthType.PSK and auth_type.client == PSK_HANDLER


def test_not_json_is_reported() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_config("{nope", "cfg")
    with pytest.raises(ConfigError, match="top level must be an object"):
        parse_config("[1, 2]", "cfg")


def test_secrets_never_render(caplog: pytest.LogCaptureFixture) -> None:
    config = parse_config(
        '{"community": {"sessions": {"p": {"auth_type": "PSK", "auth_token": "sekrit-token-1"}}},'
        ' "enterprise": {"systems": {"e": {"connection_json_url": "https://x/c.json",'
        ' "auth_type": "password", "username": "u", "password": "pa55word-xyz"}}}}',
        "cfg",
    )
    rendered = repr(config) + str(redacted_dict(config))
    assert "sekrit-token-1" not in rendered and "pa55word-xyz" not in rendered
    assert redacted_dict(config)["enterprise"]["systems"]["e"]["password"] == "[REDACTED]"
    # Registered at load time, so any later log line is scrubbed.
    assert (
        redact("token is sekrit-token-1 and pa55word-xyz") == "token is [REDACTED] and [REDACTED]"
    )


def test_ignored_enterprise_keys_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_config(
            '{"enterprise": {"systems": {"e": {"connection_json_url": "https://x/c.json",'
            ' "auth_type": "private_key", "private_key_path": "/k.pem", "username": "u"}}}}',
            "cfg",
        )
    assert "username" in caplog.text and "ignored" in caplog.text


async def test_unset_env_var_uses_builtin_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DH_MCP_CONFIG_FILE", raising=False)
    with caplog.at_level(logging.INFO):
        config = await load_config()
    creation = config.community.session_creation
    assert creation is not None and creation.defaults.launch_method == "python"
    lines = [r.getMessage() for r in caplog.records if "DH_MCP_CONFIG_FILE" in r.getMessage()]
    assert len(lines) == 1 and "built-in default" in lines[0]


async def test_set_but_missing_or_unreadable_file_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        await load_config(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="directory"):
        await load_config(str(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="UTF-8"):
        await load_config(str(bad))


def test_limits_default_to_the_spec_and_accept_operator_values() -> None:
    default = parse_config("{}", "cfg").limits
    assert default.max_response_bytes == 50 * 1024 * 1024
    assert default.default_max_rows is None
    set_ = parse_config('{"limits": {"max_response_bytes": 2048, "default_max_rows": 250}}', "c")
    assert (set_.limits.max_response_bytes, set_.limits.default_max_rows) == (2048, 250)


@pytest.mark.parametrize(
    ("limits", "where"),
    [
        ('{"max_response_bytes": 10}', "limits.max_response_bytes"),
        ('{"max_response_bytes": 2000000000}', "limits.max_response_bytes"),
        ('{"max_response_bytes": "50MB"}', "limits.max_response_bytes"),
        ('{"default_max_rows": 0}', "limits.default_max_rows"),
        ('{"default_max_rows": 1.5}', "limits.default_max_rows"),
        ('{"max_rows": 10}', "limits.max_rows"),
    ],
)
def test_bad_limits_name_the_key(limits: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        parse_config(f'{{"limits": {limits}}}', "cfg")

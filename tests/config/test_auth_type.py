"""AuthType: every accepted spelling parses to one canonical value, in every layer."""

from __future__ import annotations

import copy

import pytest

from deephaven_mcp.config import parse_config
from deephaven_mcp.config.auth_type import ANONYMOUS_HANDLER, PSK_HANDLER, AuthType
from deephaven_mcp.errors import ConfigError, InvalidArgumentError
from deephaven_mcp.launchers import LaunchRequest


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("PSK", AuthType.PSK),
        ("psk", AuthType.PSK),
        (" Psk ", AuthType.PSK),
        (PSK_HANDLER, AuthType.PSK),
        (PSK_HANDLER.upper(), AuthType.PSK),
        ("Anonymous", AuthType.ANONYMOUS),
        ("ANONYMOUS", AuthType.ANONYMOUS),
        ("Basic", AuthType.BASIC),
        ("basic", AuthType.BASIC),
    ],
)
def test_known_spellings_are_singletons(spelling: str, expected: AuthType) -> None:
    assert AuthType(spelling) is expected
    assert AuthType.parse(spelling) is expected


def test_display_name_and_client_string() -> None:
    assert (str(AuthType.PSK), AuthType.PSK.client) == ("PSK", PSK_HANDLER)
    assert (str(AuthType.ANONYMOUS), AuthType.ANONYMOUS.client) == ("Anonymous", "Anonymous")
    assert (str(AuthType.BASIC), AuthType.BASIC.client) == ("Basic", "Basic")
    assert AuthType.PSK == "PSK"  # compares as its display name


def test_custom_handler_passes_through() -> None:
    custom = AuthType("  com.example.MyAuthHandler ")
    assert custom == "com.example.MyAuthHandler"
    assert custom.client == "com.example.MyAuthHandler"
    assert not custom.launchable
    # The server-side anonymous handler is not a client auth type: it passes through too.
    assert AuthType(ANONYMOUS_HANDLER) == ANONYMOUS_HANDLER


def test_only_psk_and_anonymous_are_launchable() -> None:
    assert [auth.launchable for auth in (AuthType.PSK, AuthType.ANONYMOUS, AuthType.BASIC)] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize("value", ["", "   ", None, 3])
def test_blank_or_non_string_is_not_an_auth_type(value: object) -> None:
    assert AuthType.parse(value) is None
    with pytest.raises(ValueError, match="handler class name"):
        AuthType(value)  # type: ignore[arg-type]


def test_copies_keep_the_singleton() -> None:
    assert copy.deepcopy(AuthType.PSK) is AuthType.PSK
    assert copy.copy(AuthType.ANONYMOUS) is AuthType.ANONYMOUS


def test_config_layers_parse_once() -> None:
    config = parse_config(
        '{"community": {"sessions": {"a": {"auth_type": "psk"}, "b": {}, '
        '"c": {"auth_type": "com.example.H"}},'
        ' "session_creation": {"defaults": {"auth_type": "anonymous"}}}}',
        "cfg",
    )
    sessions = config.community.sessions
    assert sessions["a"].auth_type is AuthType.PSK
    assert sessions["b"].auth_type is AuthType.ANONYMOUS  # the default
    assert sessions["c"].auth_type == "com.example.H"
    creation = config.community.session_creation
    assert creation is not None and creation.defaults.auth_type is AuthType.ANONYMOUS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"community": {"sessions": {"p": {"auth_type": 1}}}}', "auth_type: expected string"),
        ('{"community": {"sessions": {"p": {"auth_type": " "}}}}', "auth_type: must be"),
    ],
)
def test_config_rejects_non_strings_and_blanks(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(text, "cfg")


def test_launch_requests_take_any_launchable_spelling() -> None:
    # config text reaches the model as a plain string
    for spelling, expected in [("psk", AuthType.PSK), (PSK_HANDLER, AuthType.PSK)]:
        raw = {"session_name": "s", "launch_method": "python", "auth_type": spelling}
        assert LaunchRequest.model_validate(raw).auth_type is expected
    with pytest.raises(InvalidArgumentError, match="not supported for launched sessions"):
        LaunchRequest.model_validate(
            {"session_name": "s", "launch_method": "python", "auth_type": ANONYMOUS_HANDLER}
        )

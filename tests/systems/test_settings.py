"""Environment settings: one object per server, and a bad value is a start-up error."""

from __future__ import annotations

from pathlib import Path

import pytest

from deephaven_mcp.errors import ConfigError
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.systems import DeephavenSystems
from deephaven_mcp.systems.settings import SystemsSettings


def test_defaults_match_the_built_in_timeouts() -> None:
    settings = SystemsSettings.from_env({})
    assert settings.timeouts == Timeouts()
    assert (settings.port, settings.log_level, settings.config_file) == (8000, "INFO", None)


def test_values_are_read_and_blank_means_unset() -> None:
    settings = SystemsSettings.from_env(
        {
            "DH_MCP_DATA_TIMEOUT": "2.5",
            "DH_MCP_STATE_DIR": "/tmp/dh-state",
            "PORT": "9100",
            "PYTHONLOGLEVEL": "debug",
            "DH_MCP_CONFIG_FILE": "",
        }
    )
    assert settings.timeouts.data == 2.5
    assert settings.state_dir == Path("/tmp/dh-state")
    assert (settings.port, settings.log_level, settings.config_file) == (9100, "DEBUG", None)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DH_MCP_DATA_TIMEOUT": "fast"}, "DH_MCP_DATA_TIMEOUT: input should be a valid number"),
        ({"DH_MCP_SCRIPT_TIMEOUT": "-1"}, "DH_MCP_SCRIPT_TIMEOUT: input should be greater than 0"),
        ({"DH_MCP_CONNECT_TIMEOUT": "inf"}, "DH_MCP_CONNECT_TIMEOUT: input should be a finite"),
        ({"PORT": "70000"}, "PORT: input should be less than or equal to 65535"),
        ({"PYTHONLOGLEVEL": "chatty"}, "PYTHONLOGLEVEL: input should be 'DEBUG'"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SystemsSettings.from_env(env)
    assert str(caught.value).startswith(expected)


def test_the_service_takes_its_config_file_and_timeouts_from_the_settings() -> None:
    settings = SystemsSettings.from_env(
        {"DH_MCP_CONFIG_FILE": "/etc/dh.json", "DH_MCP_PROBE_TIMEOUT": "1"}
    )
    systems = DeephavenSystems(settings=settings)
    assert systems.config_path == "/etc/dh.json"
    assert systems.timeouts.probe == 1.0
    assert DeephavenSystems("/other.json", settings=settings).config_path == "/other.json"


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DH_MCP_METADATA_TIMEOUT", "7")
    assert SystemsSettings.from_env().timeouts.metadata == 7.0
    monkeypatch.setenv("DH_MCP_METADATA_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="DH_MCP_METADATA_TIMEOUT"):
        DeephavenSystems()


def test_the_per_session_call_limit_and_busy_wait_are_read() -> None:
    defaults = SystemsSettings.from_env({}).timeouts
    assert (defaults.max_calls_per_session, defaults.session_busy) == (4, 10.0)
    settings = SystemsSettings.from_env(
        {"DH_MCP_MAX_CALLS_PER_SESSION": "2", "DH_MCP_SESSION_BUSY_TIMEOUT": "0.5"}
    )
    assert (settings.timeouts.max_calls_per_session, settings.timeouts.session_busy) == (2, 0.5)
    assert DeephavenSystems(settings=settings).timeouts.max_calls_per_session == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "DH_MCP_MAX_CALLS_PER_SESSION: input should be greater than or equal to 1"),
        ("33", "DH_MCP_MAX_CALLS_PER_SESSION: input should be less than or equal to 32"),
        ("many", "DH_MCP_MAX_CALLS_PER_SESSION: input should be a valid integer"),
        ("2.5", "DH_MCP_MAX_CALLS_PER_SESSION: input should be a valid integer"),
    ],
)
def test_a_bad_call_limit_names_the_variable(value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SystemsSettings.from_env({"DH_MCP_MAX_CALLS_PER_SESSION": value})
    assert str(caught.value).startswith(expected)

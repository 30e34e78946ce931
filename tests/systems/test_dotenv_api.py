"""``DeephavenSystems()`` sees the working directory's ``.env`` as the server does.

The server's command line loads ``.env`` without overriding the environment; the library
reads the same variables with the same precedence, without changing ``os.environ``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.errors import DeephavenMcpError
from deephaven_mcp.systems.settings import SystemsSettings
from tests._workers import RunningWorker
from tests.conftest import TEST_PSK

SESSION = "community:config:from_dotenv"


def write_config(path: Path, name: str) -> Path:
    # Port 1: nothing here connects, so no worker is needed.
    config = {"community": {"sessions": {name: {"host": "127.0.0.1", "port": 1}}}}
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture
def dotenv_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose .env names a config file with one session."""
    config = write_config(tmp_path / "from_dotenv.json", "from_dotenv")
    (tmp_path / ".env").write_text(
        f"DH_MCP_CONFIG_FILE={config}\nDH_MCP_DATA_TIMEOUT=42\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DH_MCP_CONFIG_FILE", raising=False)
    monkeypatch.delenv("DH_MCP_DATA_TIMEOUT", raising=False)
    return tmp_path


async def test_a_dotenv_config_file_gives_its_sessions(dotenv_dir: Path) -> None:
    before = dict(os.environ)
    async with DeephavenSystems() as systems:
        listed = await systems.sessions_list()
        assert [item["session_id"] for item in listed.sessions] == [SESSION]
        assert systems.config_path == str(dotenv_dir / "from_dotenv.json")
        assert systems.timeouts.data == 42
    assert dict(os.environ) == before  # read, not loaded into the environment


def test_the_real_environment_wins(dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = write_config(dotenv_dir / "chosen.json", "chosen")
    monkeypatch.setenv("DH_MCP_CONFIG_FILE", str(chosen))
    settings = SystemsSettings.from_env()
    assert settings.config_file == str(chosen)
    assert settings.data_timeout == 42  # the rest of .env still counts


def test_a_blank_variable_stays_unset_as_with_load_dotenv(
    dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # load_dotenv(override=False) keeps an existing blank variable, which means "not set".
    monkeypatch.setenv("DH_MCP_CONFIG_FILE", "")
    assert SystemsSettings.from_env().config_file is None


def test_a_given_mapping_and_other_directories_ignore_dotenv(
    dotenv_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SystemsSettings.from_env({}).config_file is None
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert SystemsSettings.from_env().config_file is None
    # Only the working directory's .env, not one further up (as the server).
    monkeypatch.chdir(dotenv_dir)
    nested = dotenv_dir / "below"
    nested.mkdir()
    monkeypatch.chdir(nested)
    assert SystemsSettings.from_env().config_file is None


async def test_a_secret_kept_in_dotenv_reaches_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dh_psk_worker: RunningWorker
) -> None:
    """A token named by ``auth_token_env_var`` and set only in ``.env`` connects, as with the
    server (whose command line loads ``.env``); a blank real variable still wins."""
    config = tmp_path / "psk.json"
    endpoint = {
        "host": "127.0.0.1",
        "port": dh_psk_worker.port,
        "auth_type": "PSK",
        "auth_token_env_var": "DOTENV_ONLY_TOKEN",
    }
    config.write_text(json.dumps({"community": {"sessions": {"psk": endpoint}}}), "utf-8")
    (tmp_path / ".env").write_text(
        f"DH_MCP_CONFIG_FILE={config}\nDOTENV_ONLY_TOKEN={TEST_PSK}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DH_MCP_CONFIG_FILE", raising=False)
    monkeypatch.delenv("DOTENV_ONLY_TOKEN", raising=False)
    async with DeephavenSystems() as systems:
        tables = await systems.session_tables_list("community:config:psk")
        assert tables.count > 0
    assert "DOTENV_ONLY_TOKEN" not in os.environ

    monkeypatch.setenv("DOTENV_ONLY_TOKEN", "")
    async with DeephavenSystems() as systems:
        with pytest.raises(DeephavenMcpError, match="DOTENV_ONLY_TOKEN"):
            await systems.session_tables_list("community:config:psk")

"""The configuration shown by enterprise_systems_status never carries a secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from deephaven_mcp.enterprise import EnterpriseSystem, SystemStatus
from deephaven_mcp.runtime.logging import REDACTED, redact
from tests.enterprise.conftest import PASSWORD, make_config
from tests.enterprise.fake_backend import FakeEnterpriseBackend


def test_inline_password_is_shown_as_set_but_never_its_value() -> None:
    shown = EnterpriseSystem("prod", make_config()).redacted_config()
    assert shown["password"] == REDACTED
    assert shown["username"] == "alice"
    assert shown["connection_json_url"] == "https://enterprise.test/iris/connection.json"
    assert PASSWORD not in json.dumps(shown)


def test_password_env_var_shows_the_name_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DH_ENT_PW_FOR_REDACTION", "env-secret-value-42")
    config = make_config(password=None, password_env_var="DH_ENT_PW_FOR_REDACTION")
    shown = EnterpriseSystem("prod", config).redacted_config()
    assert shown["password_env_var"] == "DH_ENT_PW_FOR_REDACTION"
    assert "password" not in shown
    assert "env-secret-value-42" not in json.dumps(shown)


def test_private_key_path_is_a_path_only(tmp_path: Path) -> None:
    key = tmp_path / "svc.pem"
    key.write_text("user svc\noperateas svc\npublic PUBKEYDATA\nprivate PRIVKEYDATA\n")
    config = make_config(
        auth_type="private_key", username=None, password=None, private_key_path=str(key)
    )
    shown = EnterpriseSystem("prod", config).redacted_config()
    assert shown["private_key_path"] == str(key)
    assert "PRIVKEYDATA" not in json.dumps(shown)
    assert "username" not in shown


def test_session_arguments_and_url_credentials_are_masked() -> None:
    config = make_config(
        connection_json_url="https://bob:hunter22@ent.test:8123/iris/connection.json?token=abc123xyz",
        session_creation={
            "max_concurrent_sessions": 3,
            "defaults": {"heap_size_gb": 4, "session_arguments": {"auth_token": "tok-777"}},
        },
    )
    shown = EnterpriseSystem("prod", config).redacted_config()
    text = json.dumps(shown)
    for secret in ("hunter22", "abc123xyz", "tok-777"):
        assert secret not in text
    assert "ent.test:8123" in text
    creation = shown["session_creation"]
    assert isinstance(creation, dict)
    assert creation["max_concurrent_sessions"] == 3
    assert creation["defaults"] == {
        "heap_size_gb": 4,
        "session_arguments": {"auth_token": REDACTED},
    }


async def test_password_is_registered_for_log_redaction(
    fake: FakeEnterpriseBackend, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DH_ENT_PW_LOGGED", "pw-from-env-9001")
    config = make_config(password=None, password_env_var="DH_ENT_PW_LOGGED")
    fake.users["alice"] = "pw-from-env-9001"
    system = EnterpriseSystem("prod", config, fake)
    with caplog.at_level(logging.DEBUG):
        report = await system.status(attempt_to_connect=True)
    assert report.status is SystemStatus.ONLINE
    assert redact("the password is pw-from-env-9001") == f"the password is {REDACTED}"
    await system.close()

"""Settings from the environment, and the pure validation / prompt helpers."""

from __future__ import annotations

import pytest

from deephaven_mcp._errors import ConfigError, InvalidArgumentError
from deephaven_mcp._logging import REDACTED, redact
from deephaven_mcp.mcp_docs_server import DocsSettings
from deephaven_mcp.mcp_docs_server._llm import DocsAssistant
from deephaven_mcp.mcp_docs_server._prompt import (
    ChatRequest,
    HistoryMessage,
    build_messages,
    build_system_prompt,
    validate_request,
)


def test_defaults_without_any_environment() -> None:
    settings = DocsSettings.from_env({})
    assert settings.inkeep.base_url == "https://api.inkeep.com/v1"
    assert settings.inkeep.model == "inkeep-context-expert"
    assert settings.openai.base_url == "https://api.openai.com/v1"
    assert not settings.inkeep.configured
    assert not settings.openai.configured
    assert settings.request_timeout == 120.0
    assert settings.max_retries == 1


def test_every_variable_is_read() -> None:
    settings = DocsSettings.from_env(
        {
            "INKEEP_API_KEY": " ik-env-secret-0001 ",
            "INKEEP_BASE_URL": "http://127.0.0.1:1234/v1",
            "INKEEP_MODEL": "local-expert",
            "OPENAI_API_KEY": "sk-env-secret-0002",
            "OPENAI_BASE_URL": "http://127.0.0.1:5678/v1",
            "OPENAI_MODEL": "local-fallback",
            "DOCS_REQUEST_TIMEOUT": "7.5",
            "DOCS_MAX_RETRIES": "0",
        }
    )
    assert settings.inkeep.api_key == "ik-env-secret-0001"
    assert (settings.inkeep.base_url, settings.inkeep.model) == (
        "http://127.0.0.1:1234/v1",
        "local-expert",
    )
    assert (settings.openai.base_url, settings.openai.model) == (
        "http://127.0.0.1:5678/v1",
        "local-fallback",
    )
    assert [p.name for p in settings.providers] == ["Inkeep", "OpenAI"]
    assert settings.request_timeout == 7.5
    assert settings.max_retries == 0


def test_keys_are_registered_for_redaction_and_hidden_from_repr() -> None:
    settings = DocsSettings.from_env(
        {"INKEEP_API_KEY": "ik-redact-me-4242", "OPENAI_API_KEY": "sk-redact-me-4343"}
    )
    assert redact("key=ik-redact-me-4242 other=sk-redact-me-4343") == (
        f"key={REDACTED} other={REDACTED}"
    )
    assert "redact-me" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DOCS_REQUEST_TIMEOUT": "soon"}, "DOCS_REQUEST_TIMEOUT must be a number"),
        ({"DOCS_REQUEST_TIMEOUT": "0"}, "DOCS_REQUEST_TIMEOUT must be between"),
        ({"DOCS_REQUEST_TIMEOUT": "nan"}, "DOCS_REQUEST_TIMEOUT must be between"),
        ({"DOCS_MAX_RETRIES": "1.5"}, "DOCS_MAX_RETRIES must be a whole number"),
        ({"DOCS_MAX_RETRIES": "99"}, "DOCS_MAX_RETRIES must be between"),
    ],
)
def test_malformed_numbers_are_config_errors(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        DocsSettings.from_env(env)


def test_startup_summary_hides_url_credentials() -> None:
    settings = DocsSettings.from_env(
        {"INKEEP_API_KEY": "ik-summary-0001", "INKEEP_BASE_URL": "https://bob:pw1@proxy.test/v1"}
    )
    summary = DocsAssistant(settings).describe()
    assert summary == "Inkeep (inkeep-context-expert at https://proxy.test/v1)"
    assert DocsAssistant(DocsSettings.from_env({})).describe().startswith("no provider")


def test_system_prompt_tailoring() -> None:
    base = build_system_prompt()
    assert "Deephaven documentation" in base
    tailored = build_system_prompt("0.40.1", None, "python")
    assert tailored.startswith(base)
    assert "Community Core version 0.40.1" in tailored
    assert "code example in Python" in tailored
    assert "Core+" not in tailored.removeprefix(base)


def test_messages_are_system_history_then_prompt() -> None:
    request = validate_request(
        "Now sort it",
        [{"role": "user", "content": "Filter"}, {"role": "system", "content": "Be brief"}],
        None,
        "1.2.3",
        None,
    )
    assert request == ChatRequest(
        "Now sort it",
        [HistoryMessage("user", "Filter"), HistoryMessage("system", "Be brief")],
        None,
        "1.2.3",
        None,
    )
    messages = build_messages(request)
    assert [m["role"] for m in messages] == ["system", "user", "system", "user"]
    assert "Core+ (Enterprise) version 1.2.3" in str(messages[0]["content"])
    assert messages[-1] == {"role": "user", "content": "Now sort it"}


def test_extra_keys_in_history_are_dropped() -> None:
    request = validate_request("q", [{"role": "user", "content": "a", "name": "bob", "id": 3}])
    assert request.history == [HistoryMessage("user", "a")]


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ({"role": "user"}, "history must be a list"),
        ("[1, 2]", r"history\[0\] must be an object"),
        ([{"role": "user", "content": [{"type": "text", "text": 5}]}], r"content\[0\]\.text"),
        ([{"role": None, "content": "x"}], r"history\[0\]\.role must be one of .*got null"),
        ([{"role": "user", "content": "x" * 30_000}] * 7, "history is too long"),
    ],
)
def test_history_errors_name_the_problem(history: object, expected: str) -> None:
    with pytest.raises(InvalidArgumentError, match=expected):
        validate_request("q", history)


def test_blank_optional_hints_are_ignored() -> None:
    request = validate_request("q", "", " ", "", "\t")
    assert request.history == []
    assert (request.core_version, request.enterprise_version, request.language) == (
        None,
        None,
        None,
    )

"""The one precedence rule (argument -> configured default -> built-in) and its two users."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, get_args

import pytest
from pydantic import field_validator

from deephaven_mcp.config.arguments import ArgumentModel, first_given, merge_layers
from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import (
    AgentSettable,
    EnterpriseCreationDefaults,
    SessionCreationConfig,
    SessionCreationDefaults,
)
from deephaven_mcp.enterprise import FALLBACK_HEAP_SIZE_GB, WorkerRequest
from deephaven_mcp.enterprise._params import resolve_worker
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.launchers import DEFAULT_DOCKER_IMAGE
from deephaven_mcp.systems._community import DOCKER_IMAGES, CreateArguments, resolve_request


class Settings(ArgumentModel):
    size: int = 1
    name: str = "builtin-model"
    tags: tuple[str, ...] = ()

    @field_validator("size")
    @classmethod
    def _size(cls, value: int) -> int:
        if value < 0:
            raise InvalidArgumentError(f"size must be >= 0, got {value}")
        return value


@dataclass(frozen=True)
class Arguments:
    size: int | None = None
    name: str | None = None


def test_first_given_skips_none_only() -> None:
    assert first_given(None, 0, 5) == 0
    assert first_given(None, "", "x") == ""
    assert first_given(None, None) is None


def test_argument_beats_config_beats_builtin() -> None:
    config = {"size": 2, "name": "config"}
    builtins = {"size": 3, "name": "builtin", "tags": ("b",)}
    merged = merge_layers(Settings, Arguments(size=1), config, builtins)
    assert (merged.size, merged.name, merged.tags) == (1, "config", ("b",))


def test_none_and_missing_layers_mean_not_given() -> None:
    merged = merge_layers(Settings, Arguments(), None, {"name": None})
    assert merged == Settings()  # every field keeps the model's own default
    assert merge_layers(Settings, Arguments(name="arg"), object()).name == "arg"


def test_decided_fields_win_even_when_none() -> None:
    class Optional(ArgumentModel):
        token: str | None = "builtin"

    assert merge_layers(Optional, {"token": "arg"}, token=None).token is None
    assert merge_layers(Optional, {"token": "arg"}).token == "arg"


def test_validated_once_and_errors_are_invalid_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="size must be >= 0, got -1"):
        merge_layers(Settings, Arguments(size=-1), {"size": 5})
    with pytest.raises(InvalidArgumentError, match="size: Input should be a valid integer"):
        merge_layers(Settings, {"size": "many"})
    unknown: dict[str, Any] = {"bogus": 1}  # as a client could send it
    with pytest.raises(InvalidArgumentError, match="bogus: Extra inputs"):
        Settings(**unknown)
    with pytest.raises(Exception, match="frozen"):
        Settings().size = 3  # frozen by model_config, which mypy does not see


# -- community: session_community_create -------------------------------------------------


def _community(**defaults: object) -> SessionCreationConfig:
    """Creation config whose callers may set everything: these tests are about precedence
    (the launch policy itself is tested in tests/systems/test_launch_policy.py)."""
    return SessionCreationConfig(
        defaults=SessionCreationDefaults.model_validate(defaults),
        agent_may_set=list(get_args(AgentSettable)),
    )


def test_community_precedence_field_by_field() -> None:
    defaults = _community(
        launch_method="python",
        heap_size_gb=3,
        extra_jvm_args=["-Dfrom=config"],
        environment_vars={"FROM": "config"},
        startup_timeout_seconds=30,
        startup_retries=0,
    )
    request, language = resolve_request(
        CreateArguments(session_name="s", heap_size_gb=2.5, environment_vars={"FROM": "arg"}),
        defaults,
    )
    assert (request.launch_method, language) == ("python", "Python")
    assert request.heap_size_gb == 2.5  # argument
    assert request.extra_jvm_args == ("-Dfrom=config",)  # config default
    assert request.environment_vars == MappingProxyType({"FROM": "arg"})
    assert (request.startup_timeout_seconds, request.startup_retries) == (30.0, 0)
    assert request.startup_check_interval_seconds == 0.5  # built-in

    bare, _ = resolve_request(CreateArguments(session_name="s"), _community())
    assert (bare.launch_method, bare.heap_size_gb, bare.auth_type) == ("docker", 4, AuthType.PSK)
    assert bare.docker_image == DOCKER_IMAGES["Python"] and bare.auth_token is None


def test_community_language_and_image_are_decided_together() -> None:
    groovy = _community(programming_language="Groovy")
    request, language = resolve_request(CreateArguments(session_name="s"), groovy)
    assert (request.docker_image, language) == (DOCKER_IMAGES["Groovy"], "Groovy")
    request, language = resolve_request(
        CreateArguments(session_name="s", docker_image="my/image:1"), groovy
    )
    assert (request.docker_image, language) == ("my/image:1", "Python")  # argument wins both
    request, language = resolve_request(
        CreateArguments(session_name="s", programming_language="groovy"),
        _community(docker_image="config/image:2"),
    )
    assert (request.docker_image, language) == (DOCKER_IMAGES["Groovy"], "Groovy")
    request, language = resolve_request(
        CreateArguments(session_name="s", launch_method="python"), groovy
    )
    assert (request.docker_image, language) == (DEFAULT_DOCKER_IMAGE, "Python")


def test_community_auth_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DH_TEST_DEFAULT_PSK", "from-env-123")
    defaults = _community(auth_token_env_var="DH_TEST_DEFAULT_PSK")
    request, _ = resolve_request(CreateArguments(session_name="s"), defaults)
    assert (request.auth_type, request.auth_token) == (AuthType.PSK, "from-env-123")
    request, _ = resolve_request(CreateArguments(session_name="s", auth_token="arg-tok"), defaults)
    assert request.auth_token == "arg-tok"
    request, _ = resolve_request(CreateArguments(session_name="s", auth_type="anonymous"), defaults)
    assert (request.auth_type, request.auth_token) == (AuthType.ANONYMOUS, None)
    anonymous = _community(auth_type="Anonymous", auth_token="config-tok")
    request, _ = resolve_request(CreateArguments(session_name="s"), anonymous)
    assert (request.auth_type, request.auth_token) == (AuthType.ANONYMOUS, None)
    request, _ = resolve_request(CreateArguments(session_name="s", auth_type="psk"), anonymous)
    assert (request.auth_type, request.auth_token) == (AuthType.PSK, "config-tok")


@pytest.mark.parametrize(
    ("arguments", "defaults", "message"),
    [
        (
            {"auth_type": "Basic"},
            {},
            "Basic authentication is not supported for dynamic sessions (it needs a user "
            "database); use 'PSK' or 'Anonymous'",
        ),
        ({"auth_type": "Kerberos"}, {}, "auth_type 'Kerberos' is not supported; use 'PSK' or"),
        (
            {"auth_type": "Anonymous", "auth_token": "abcdef"},
            {},
            "auth_token is only used with PSK authentication",
        ),
        ({"launch_method": "podman"}, {}, "launch_method must be 'python' or 'docker', got"),
        (
            {"docker_volumes": ["/a:/b"]},
            {"launch_method": "python"},
            "docker_volumes applies only to the docker launch method",
        ),
        (
            {"python_venv_path": "/venv"},
            {},
            "python_venv_path applies only to the python launch method",
        ),
        (
            {"programming_language": "Python", "docker_image": "x"},
            {},
            "set either programming_language or docker_image, not both",
        ),
        ({"programming_language": "Rust"}, {}, "programming_language must be 'Python' or"),
        ({"heap_size_gb": 0}, {"heap_size_gb": 2}, "heap_size_gb must be positive, got 0"),
        (
            {"heap_size_gb": 4, "docker_memory_limit_gb": 4},
            {},
            "heap_size_gb (4) must be below docker_memory_limit_gb (4); the JVM needs",
        ),
        ({"session_name": "bad name"}, {}, "invalid session name 'bad name'"),
    ],
)
def test_community_error_texts(
    arguments: dict[str, Any], defaults: dict[str, object], message: str
) -> None:
    values: dict[str, Any] = {"session_name": "s", **arguments}
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_request(CreateArguments(**values), _community(**defaults))
    assert str(caught.value).startswith(message)


def test_community_missing_default_token_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DH_TEST_UNSET_PSK", raising=False)
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_request(
            CreateArguments(session_name="s"), _community(auth_token_env_var="DH_TEST_UNSET_PSK")
        )
    assert str(caught.value) == (
        "environment variable DH_TEST_UNSET_PSK "
        "(session_creation.defaults.auth_token_env_var) is not set"
    )


# -- enterprise: session_enterprise_create and pq_create --------------------------------


def test_enterprise_precedence_field_by_field() -> None:
    defaults = EnterpriseCreationDefaults(
        heap_size_gb=8, engine="ConfigEngine", extra_jvm_args=["-Dfrom=config"], timeout_seconds=60
    )
    resolved = resolve_worker(
        "w", WorkerRequest(heap_size_gb=2, extra_jvm_args=["-Dfrom=arg"]), defaults
    )
    assert resolved.spec.heap_size_gb == 2.0  # argument
    assert resolved.spec.extra_jvm_args == ("-Dfrom=arg",)  # argument, lists replace
    assert resolved.spec.engine == "ConfigEngine"  # config default
    assert resolved.timeout_seconds == 60.0
    assert resolved.spec.server is None and resolved.session_arguments is None  # API default
    assert resolve_worker("w", WorkerRequest(), defaults).spec.heap_size_gb == 8.0
    assert resolve_worker("w", WorkerRequest(), None).spec.heap_size_gb == FALLBACK_HEAP_SIZE_GB


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (WorkerRequest(heap_size_gb=0), "heap_size_gb must be greater than 0 (got 0)"),
        (
            WorkerRequest(timeout_seconds=True),
            "invalid argument timeout_seconds: expected a number",
        ),
        (WorkerRequest(programming_language="Rust"), "programming_language must be Python or"),
        (WorkerRequest(auto_delete_timeout=-1), "auto_delete_timeout must be a whole number"),
        (WorkerRequest(server=" "), "server must be a non-empty string"),
        (WorkerRequest(admin_groups=["a", ""]), "admin_groups must be a list of non-empty"),
        (WorkerRequest(extra_environment_vars=["X"]), "extra_environment_vars entries must be"),
        (
            WorkerRequest(session_arguments={1: "x"}),  # type: ignore[dict-item]
            "session_arguments must be an object with string keys",
        ),
    ],
)
def test_enterprise_error_texts(request_: WorkerRequest, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_worker("w", request_, EnterpriseCreationDefaults(heap_size_gb=2))
    assert str(caught.value).startswith(message)

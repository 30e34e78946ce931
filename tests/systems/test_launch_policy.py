"""The community launch policy: what a caller may choose in ``session_community_create``.

Pure policy code (no worker): :func:`resolve_request` is the one place the rule lives.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, get_args

import pytest

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import AgentSettable, SessionCreationConfig
from deephaven_mcp.errors import InvalidArgumentError, LimitExceededError, PermissionDeniedError
from deephaven_mcp.systems._community import DOCKER_IMAGES, CreateArguments, resolve_request

OPERATOR_SET: tuple[str, ...] = get_args(AgentSettable)

# A valid value for each operator-set argument, and how it shows in the launch request.
GIVEN: dict[str, tuple[Any, Any]] = {
    "launch_method": ("docker", "docker"),
    "auth_type": ("Anonymous", AuthType.ANONYMOUS),
    "auth_token": ("agent-token-123", "agent-token-123"),
    "docker_image": ("my/image:1", "my/image:1"),
    "docker_volumes": (["/data:/data:ro"], ("/data:/data:ro",)),
    "docker_memory_limit_gb": (16, 16),
    "docker_cpu_limit": (2, 2),
    "python_venv_path": ("/opt/venv", "/opt/venv"),
    "extra_jvm_args": (["-Dx=1"], ("-Dx=1",)),
    "environment_vars": ({"A": "b"}, MappingProxyType({"A": "b"})),
}
# python_venv_path needs the python launch method, which only the operator may pick here.
METHOD_FOR = {"python_venv_path": "python"}


def creation(**values: Any) -> SessionCreationConfig:
    return SessionCreationConfig.model_validate(values)


def arguments(**values: Any) -> CreateArguments:
    return CreateArguments(session_name="s", **values)


def refusal(*names: str) -> str:
    quoted = ", ".join(f'"{name}"' for name in names)
    verb, pronoun = ("is", "it") if len(names) == 1 else ("are", "them")
    return (
        f"{', '.join(names)} {verb} set by the operator: add {quoted} to "
        f"community.session_creation.agent_may_set to let callers choose {pronoun}"
    )


def test_every_operator_setting_has_a_sample_and_an_argument() -> None:
    assert set(GIVEN) == set(OPERATOR_SET)
    assert all(hasattr(arguments(), name) for name in OPERATOR_SET)


@pytest.mark.parametrize("name", OPERATOR_SET)
def test_each_operator_setting_is_refused_by_default_naming_its_key(name: str) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        resolve_request(arguments(**{name: GIVEN[name][0]}), creation())
    assert str(caught.value) == refusal(name)


def test_the_exact_text_for_docker_volumes() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        resolve_request(arguments(docker_volumes=["/:/host"]), creation())
    assert str(caught.value) == (
        'docker_volumes is set by the operator: add "docker_volumes" to '
        "community.session_creation.agent_may_set to let callers choose it"
    )


@pytest.mark.parametrize("name", OPERATOR_SET)
def test_each_operator_setting_is_accepted_once_listed(name: str) -> None:
    value, expected = GIVEN[name]
    defaults = {"launch_method": METHOD_FOR[name]} if name in METHOD_FOR else {}
    request, _ = resolve_request(
        arguments(**{name: value}), creation(agent_may_set=[name], defaults=defaults)
    )
    assert getattr(request, name) == expected


def test_refusal_lists_every_unlisted_argument_and_only_those() -> None:
    allowed = creation(agent_may_set=["docker_image"])
    with pytest.raises(PermissionDeniedError) as caught:
        resolve_request(
            arguments(launch_method="docker", docker_image="x/y:1", docker_volumes=["/a:/b"]),
            allowed,
        )
    assert str(caught.value) == refusal("launch_method", "docker_volumes")


@pytest.mark.parametrize(
    ("name", "value"), [("extra_jvm_args", []), ("environment_vars", {}), ("docker_image", "")]
)
def test_an_empty_value_is_still_a_choice(name: str, value: Any) -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{name} is set by the operator"):
        resolve_request(arguments(**{name: value}), creation())


def test_policy_comes_before_checking_the_value() -> None:
    """A refused argument is refused even when its value would be invalid anyway."""
    with pytest.raises(PermissionDeniedError, match=r"^launch_method is set by the operator"):
        resolve_request(arguments(launch_method="podman", heap_size_gb=1000), creation())


def test_name_language_and_heap_are_always_the_callers() -> None:
    request, language = resolve_request(
        arguments(programming_language="groovy", heap_size_gb=8), creation()
    )
    assert (language, request.docker_image, request.heap_size_gb) == (
        "Groovy",
        DOCKER_IMAGES["Groovy"],
        8,
    )
    assert request.session_name == "s"


@pytest.mark.parametrize(
    ("cap", "heap", "text"),
    [
        (8, 8.5, "heap_size_gb 8.5 is above the limit of 8 GB"),
        (8, 9, "heap_size_gb 9 is above the limit of 8 GB"),
        (2, 2.25, "heap_size_gb 2.25 is above the limit of 2 GB"),
        (1.5, float("inf"), "heap_size_gb inf is above the limit of 1.5 GB"),
    ],
)
def test_heap_above_the_cap_is_refused_naming_the_key(cap: float, heap: float, text: str) -> None:
    with pytest.raises(LimitExceededError) as caught:
        resolve_request(arguments(heap_size_gb=heap), creation(max_heap_size_gb=cap))
    assert str(caught.value) == f"{text} set by community.session_creation.max_heap_size_gb"


def test_heap_at_the_cap_is_accepted() -> None:
    request, _ = resolve_request(arguments(heap_size_gb=2), creation(max_heap_size_gb=2))
    assert request.heap_size_gb == 2


@pytest.mark.parametrize("heap", [True, float("nan"), 0])
def test_a_heap_that_is_not_a_size_gets_the_usual_message(heap: Any) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"^(heap_size_gb must be|invalid argument heap_size_gb)"
    ):
        resolve_request(arguments(heap_size_gb=heap), creation(max_heap_size_gb=2))


def test_operator_defaults_are_neither_refused_nor_capped() -> None:
    defaults = {
        "launch_method": "docker",
        "auth_type": "PSK",
        "auth_token": "operator-token-1",
        "docker_image": "corp/deephaven:1",
        "docker_volumes": ["/srv/data:/data:ro"],
        "docker_memory_limit_gb": 40,
        "docker_cpu_limit": 4,
        "heap_size_gb": 32,
        "extra_jvm_args": ["-Dcorp=1"],
        "environment_vars": {"CORP": "1"},
    }
    request, _ = resolve_request(arguments(), creation(max_heap_size_gb=2, defaults=defaults))
    assert request.heap_size_gb == 32  # above max_heap_size_gb: the operator's choice
    assert (request.docker_image, request.docker_volumes) == (
        "corp/deephaven:1",
        ("/srv/data:/data:ro",),
    )
    assert (request.auth_token, request.extra_jvm_args) == ("operator-token-1", ("-Dcorp=1",))


def test_a_listed_argument_still_overrides_the_default() -> None:
    allowed = creation(agent_may_set=["extra_jvm_args"], defaults={"extra_jvm_args": ["-Da=1"]})
    request, _ = resolve_request(arguments(extra_jvm_args=["-Db=2"]), allowed)
    assert request.extra_jvm_args == ("-Db=2",)

"""Validate worker / PQ parameters and resolve them: tool argument -> config default -> API default.

The precedence is one :func:`~deephaven_mcp.config.arguments.merge_layers` call into
:class:`WorkerSettings`. ``None`` after resolution means "let coreplus apply its own
default"; the adapter then does not pass the argument at all. The one exception is the heap
size, which coreplus requires.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import BeforeValidator

from deephaven_mcp.config.arguments import ArgumentModel, merge_layers
from deephaven_mcp.config.models import EnterpriseCreationDefaults
from deephaven_mcp.enterprise.backend import Environment, PqSpec
from deephaven_mcp.errors import InvalidArgumentError

# connect_to_new_worker has no default heap size; this one matches common Enterprise setups.
FALLBACK_HEAP_SIZE_GB: Final = 4.0
LANGUAGES: Final = ("Python", "Groovy")
ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class WorkerRequest:
    """Worker parameters as given by a tool call; ``None`` means "not given"."""

    heap_size_gb: float | None = None
    programming_language: str | None = None
    auto_delete_timeout: int | None = None
    server: str | None = None
    engine: str | None = None
    extra_jvm_args: Sequence[str] | None = None
    extra_environment_vars: Mapping[str, str] | Sequence[str] | None = None
    admin_groups: Sequence[str] | None = None
    viewer_groups: Sequence[str] | None = None
    timeout_seconds: float | None = None
    session_arguments: Mapping[str, object] | None = None


@dataclass(frozen=True)
class ResolvedWorker:
    spec: PqSpec
    timeout_seconds: float | None
    session_arguments: dict[str, object] | None


def language(value: str | None) -> str | None:
    """'python' / 'GROOVY' -> 'Python' / 'Groovy'."""
    if value is None:
        return None
    for known in LANGUAGES:
        if value.strip().lower() == known.lower():
            return known
    raise InvalidArgumentError(f"programming_language must be Python or Groovy (got {value!r})")


def positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be a number")
    if value <= 0:
        raise InvalidArgumentError(f"{name} must be greater than 0 (got {value})")
    return float(value)


def non_negative_int(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be a whole number >= 0 (got {value!r})")
    return value


def strings(name: str, values: Sequence[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str) or not all(isinstance(item, str) and item for item in values):
        raise InvalidArgumentError(f"{name} must be a list of non-empty strings")
    return tuple(values)


def environment(values: Mapping[str, str] | Sequence[str] | None) -> Environment | None:
    """``{NAME: value}`` (or a list of ``"NAME=value"``) as ordered (name, value) pairs.

    The adapter sends them as the alternating name/value entries the controller expects.
    """
    if values is None:
        return None
    if isinstance(values, Mapping):
        pairs = [(name, value) for name, value in values.items()]
        if not all(isinstance(name, str) and isinstance(value, str) for name, value in pairs):
            raise InvalidArgumentError("extra_environment_vars values must be strings")
    else:
        pairs = []
        for item in strings("extra_environment_vars", values) or ():
            name, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgumentError(
                    f"extra_environment_vars entries must be NAME=value: {item!r}"
                )
            pairs.append((name, value))
    for name, _value in pairs:
        if not ENV_NAME.match(name):
            raise InvalidArgumentError(
                f"extra_environment_vars: {name[:60]!r} is not an environment variable name"
            )
    return tuple(pairs)


def python_control(value: Mapping[str, Any] | str | None) -> str | None:
    """The Core+ venv control (``pythonControl``): a JSON object, sent as its JSON text.

    The controller reads keys such as ``ephemeral_venv``, ``seed_ephemeral_venv`` and
    ``ephemeral_requirements``; a bare name or path is not a form it understands.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            "python_virtual_environment must be a JSON object such as "
            '{"ephemeral_venv": true, "ephemeral_requirements": "pandas==2.2"}'
        )
    return json.dumps(dict(value))


def text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty string")
    return value


def _named(check: Callable[[str, Any], Any]) -> BeforeValidator:
    """Run a ``check(name, value)`` helper as a field validator (messages name the field)."""
    return BeforeValidator(lambda value, info: check(str(info.field_name), value))


def _session_arguments(value: Any) -> Any:
    if value is not None and not (
        isinstance(value, Mapping) and all(isinstance(key, str) for key in value)
    ):
        raise InvalidArgumentError("session_arguments must be an object with string keys")
    return value


_Text = Annotated[str | None, _named(text)]
_Strings = Annotated[tuple[str, ...] | None, _named(strings)]


class WorkerSettings(ArgumentModel):
    """A worker's parameters after precedence, validated once with the same checks as
    ``pq_modify``. ``None`` leaves the value to coreplus."""

    heap_size_gb: Annotated[float, _named(positive)] = FALLBACK_HEAP_SIZE_GB
    session_arguments: Annotated[dict[str, Any] | None, BeforeValidator(_session_arguments)] = None
    programming_language: Annotated[str | None, BeforeValidator(language)] = None
    auto_delete_timeout: Annotated[int | None, _named(non_negative_int)] = None
    server: _Text = None
    engine: _Text = None
    extra_jvm_args: _Strings = None
    extra_environment_vars: Annotated[Environment | None, BeforeValidator(environment)] = None
    admin_groups: _Strings = None
    viewer_groups: _Strings = None
    timeout_seconds: Annotated[float | None, _named(positive)] = None

    def spec(self, name: str) -> PqSpec:
        return PqSpec(
            name=name, **self.model_dump(exclude={"session_arguments", "timeout_seconds"})
        )


def resolve_worker(
    name: str, request: WorkerRequest, defaults: EnterpriseCreationDefaults | None
) -> ResolvedWorker:
    """Merge a tool request over the system's ``session_creation.defaults`` and validate."""
    settings = merge_layers(WorkerSettings, request, defaults)
    return ResolvedWorker(
        spec=settings.spec(name),
        timeout_seconds=settings.timeout_seconds,
        session_arguments=settings.session_arguments,
    )


def pq_spec(name: str, request: WorkerRequest) -> PqSpec:
    """A new PQ's spec from ``pq_create`` arguments only (heap size is required there)."""
    if request.heap_size_gb is None:
        raise InvalidArgumentError("heap_size_gb is required to create a persistent query")
    return resolve_worker(name, request, None).spec

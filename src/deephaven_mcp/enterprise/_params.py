"""Validate worker / PQ parameters and resolve them: tool argument -> config default -> API default.

``None`` after resolution means "let coreplus apply its own default"; the adapter then does
not pass the argument at all. The one exception is the heap size, which coreplus requires.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from deephaven_mcp.config.models import EnterpriseCreationDefaults
from deephaven_mcp.enterprise.backend import PqSpec
from deephaven_mcp.errors import InvalidArgumentError

# connect_to_new_worker has no default heap size; this one matches common Enterprise setups.
FALLBACK_HEAP_SIZE_GB: Final = 4.0
LANGUAGES: Final = ("Python", "Groovy")

T = TypeVar("T")


@dataclass(frozen=True)
class WorkerRequest:
    """Worker parameters as given by a tool call; ``None`` means "not given"."""

    heap_size_gb: float | None = None
    programming_language: str | None = None
    auto_delete_timeout: int | None = None
    server: str | None = None
    engine: str | None = None
    extra_jvm_args: Sequence[str] | None = None
    extra_environment_vars: Sequence[str] | None = None
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


def environment(values: Sequence[str] | None) -> tuple[str, ...] | None:
    checked = strings("extra_environment_vars", values)
    for item in checked or ():
        if "=" not in item or item.startswith("="):
            raise InvalidArgumentError(
                f"extra_environment_vars entries must be NAME=value: {item!r}"
            )
    return checked


def text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty string")
    return value


def _pick(argument: T | None, default: T | None) -> T | None:
    return argument if argument is not None else default


def _list(value: list[str] | None) -> Sequence[str] | None:
    return None if value is None else list(value)


def resolve_worker(
    name: str, request: WorkerRequest, defaults: EnterpriseCreationDefaults | None
) -> ResolvedWorker:
    """Merge a tool request over the system's ``session_creation.defaults`` and validate."""
    base = defaults or EnterpriseCreationDefaults()
    heap = positive("heap_size_gb", _pick(request.heap_size_gb, base.heap_size_gb))
    arguments = _pick(request.session_arguments, base.session_arguments)
    if arguments is not None and not (
        isinstance(arguments, Mapping) and all(isinstance(key, str) for key in arguments)
    ):
        raise InvalidArgumentError("session_arguments must be an object with string keys")
    spec = PqSpec(
        name=name,
        heap_size_gb=heap if heap is not None else FALLBACK_HEAP_SIZE_GB,
        programming_language=language(
            _pick(request.programming_language, base.programming_language)
        ),
        auto_delete_timeout=non_negative_int(
            "auto_delete_timeout", _pick(request.auto_delete_timeout, base.auto_delete_timeout)
        ),
        server=text("server", _pick(request.server, base.server)),
        engine=text("engine", _pick(request.engine, base.engine)),
        extra_jvm_args=strings(
            "extra_jvm_args", _pick(request.extra_jvm_args, _list(base.extra_jvm_args))
        ),
        extra_environment_vars=environment(
            _pick(request.extra_environment_vars, _list(base.extra_environment_vars))
        ),
        admin_groups=strings("admin_groups", _pick(request.admin_groups, _list(base.admin_groups))),
        viewer_groups=strings(
            "viewer_groups", _pick(request.viewer_groups, _list(base.viewer_groups))
        ),
    )
    timeout = positive("timeout_seconds", _pick(request.timeout_seconds, base.timeout_seconds))
    return ResolvedWorker(
        spec=spec,
        timeout_seconds=timeout,
        session_arguments=dict(arguments) if arguments is not None else None,
    )


def pq_spec(name: str, request: WorkerRequest) -> PqSpec:
    """A new PQ's spec from ``pq_create`` arguments only (heap size is required there)."""
    if request.heap_size_gb is None:
        raise InvalidArgumentError("heap_size_gb is required to create a persistent query")
    return resolve_worker(name, request, None).spec

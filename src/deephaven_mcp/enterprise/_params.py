"""Validate worker / PQ parameters and resolve them: tool argument -> config default -> API default.

The precedence is one :func:`~deephaven_mcp.config.arguments.merge_layers` call into
:class:`WorkerSettings`. ``None`` after resolution means "let coreplus apply its own
default"; the adapter then does not pass the argument at all. The one exception is the heap
size, which coreplus requires.

Tool arguments come from an agent, so before any of that :func:`check_caller` holds them to
the system's ``agent_limits``: a launch setting the operator did not list in
``agent_may_set`` is refused, a heap or server must fit ``max_heap_size_gb`` and
``allowed_servers``, and a caller-supplied wait :data:`MAX_WAIT_SECONDS`. Configured
defaults are the operator's and are neither refused nor limited.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Annotated, Any, Final, TypeVar

from pydantic import BeforeValidator, ValidationError

from deephaven_mcp.config.arguments import ArgumentModel, merge_layers, operator_set_refusal
from deephaven_mcp.config.models import EnterpriseCreationDefaults, EnterpriseSystemConfig
from deephaven_mcp.enterprise.backend import Environment, NewWorker, PqChanges, PqSpec
from deephaven_mcp.enterprise.schedule import CONTINUOUS, Schedule
from deephaven_mcp.errors import InvalidArgumentError, LimitExceededError, PermissionDeniedError
from deephaven_mcp.model.arguments import not_a_number

# connect_to_new_worker has no default heap size; this one matches common Enterprise setups.
FALLBACK_HEAP_SIZE_GB: Final = 4.0
LANGUAGES: Final = ("Python", "Groovy")
# A live query running its script: what the web UI calls "Live Query (Script)"; RunAndDone
# is the batch kind. The controller lists the types it has in its configuration.
DEFAULT_CONFIGURATION_TYPE: Final = "Script"
ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The longest a caller may make a tool call wait (pq_start/pq_stop, worker start-up).
MAX_WAIT_SECONDS: Final = 3600
# What a caller of session_enterprise_create, pq_create and pq_modify always chooses (field
# names of WorkerRequest / PqChanges; ``name`` is pq_modify's pq_name): the name, the
# language, a heap within max_heap_size_gb, a server within allowed_servers and the bounded
# start-up wait. Every other field is a launch setting the operator keeps unless
# agent_limits.agent_may_set lists it.
CALLER_CHOICES: Final = frozenset(
    {"name", "heap_size_gb", "programming_language", "server", "timeout_seconds"}
)
# The launch settings pq_create takes from session_creation.defaults. Not
# auto_delete_timeout (an idle-deletion default for workers would make every new query
# temporary), nor timeout_seconds and session_arguments (a worker's session, not a query).
PQ_DEFAULTED: Final = (
    "engine",
    "extra_jvm_args",
    "extra_environment_vars",
    "admin_groups",
    "viewer_groups",
)


@dataclass(frozen=True, kw_only=True)
class _LaunchRequest:
    """The settings a new worker and a new persistent query share, as given by a tool
    call; ``None`` means "not given". Keyword-only: each request adds its own fields after
    these.

    Field names are the policy's (:func:`check_caller`): everything but the heap, the
    language and the server is the operator's unless ``agent_may_set`` lists it.
    """

    heap_size_gb: float | None = None
    programming_language: str | None = None
    server: str | None = None
    engine: str | None = None
    extra_jvm_args: Sequence[str] | None = None
    extra_environment_vars: Mapping[str, str] | Sequence[str] | None = None
    admin_groups: Sequence[str] | None = None
    viewer_groups: Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class WorkerRequest(_LaunchRequest):
    """``session_enterprise_create`` parameters as given by a tool call."""

    auto_delete_timeout: int | None = None
    timeout_seconds: float | None = None
    session_arguments: Mapping[str, object] | None = None


@dataclass(frozen=True, kw_only=True)
class QueryRequest(_LaunchRequest):
    """``pq_create`` parameters as given by a tool call.

    ``script_path`` names a file on the MCP server's machine (within
    ``security.script_path_roots``), read into the query's script once the policy allows it.
    """

    script_body: str | None = None
    script_path: str | None = None
    configuration_type: str | None = None
    enabled: bool | None = None
    schedule: Schedule | Mapping[str, object] | None = None
    jvm_profile: str | None = None
    extra_class_path: Sequence[str] | None = None
    python_virtual_environment: Mapping[str, Any] | str | None = None
    init_timeout_seconds: float | None = None
    restart_users: str | None = None
    owner: str | None = None


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
        raise not_a_number(name, value)
    if value <= 0:
        raise InvalidArgumentError(f"{name} must be greater than 0 (got {value})")
    return float(value)


def _above(value: object, limit: float) -> bool:
    """Whether ``value`` is a number over ``limit``; other values are left to the later
    checks and their messages."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value > limit


def bounded_wait(name: str, value: float | None) -> None:
    """Refuse a caller's wait longer than :data:`MAX_WAIT_SECONDS`: it holds a tool call
    (and its worker thread) open for that long."""
    if _above(value, MAX_WAIT_SECONDS):
        raise InvalidArgumentError(
            f"{name} must be at most {MAX_WAIT_SECONDS} seconds (got {value:g})"
        )


def _limit_key(system_name: str, field: str) -> str:
    return f"enterprise.systems.{system_name}.agent_limits.{field}"


def _check_heap_and_server(
    system_name: str, config: EnterpriseSystemConfig, heap_size_gb: float | None, server: str | None
) -> None:
    limits = config.agent_limits
    cap = limits.max_heap_size_gb
    if cap is not None and _above(heap_size_gb, cap):
        raise LimitExceededError(
            f"heap_size_gb {heap_size_gb:g} is above the limit of {cap:g} GB set by "
            f"{_limit_key(system_name, 'max_heap_size_gb')}"
        )
    allowed = limits.allowed_servers
    if allowed is not None and server is not None and server not in allowed:
        choices = ", ".join(repr(name) for name in allowed) or "none"
        raise PermissionDeniedError(
            f"server {server!r} is not allowed on '{system_name}' (allowed: {choices}); "
            f"the operator sets {_limit_key(system_name, 'allowed_servers')}"
        )


def check_caller(
    system_name: str,
    config: EnterpriseSystemConfig,
    arguments: _LaunchRequest | PqChanges,
) -> None:
    """Refuse what a caller of ``session_enterprise_create``, ``pq_create`` or ``pq_modify``
    may not ask of this system, before anything reaches the controller.

    The one place the rule lives. Any argument outside :data:`CALLER_CHOICES` is a launch
    setting the operator keeps (an empty value is a choice too) unless
    ``agent_limits.agent_may_set`` lists it; then the heap and server are held to
    ``max_heap_size_gb`` and ``allowed_servers`` and a start-up wait to
    :data:`MAX_WAIT_SECONDS`. Only arguments come here: configured defaults are the
    operator's own choices.
    """
    allowed = config.agent_limits.agent_may_set
    refused = [
        item.name
        for item in fields(arguments)
        if getattr(arguments, item.name) is not None
        and item.name not in CALLER_CHOICES
        and item.name not in allowed
    ]
    if refused:
        raise PermissionDeniedError(
            operator_set_refusal(refused, _limit_key(system_name, "agent_may_set"))
        )
    _check_heap_and_server(system_name, config, arguments.heap_size_gb, arguments.server)
    if isinstance(arguments, WorkerRequest):
        bounded_wait("timeout_seconds", arguments.timeout_seconds)


def default_server(config: EnterpriseSystemConfig) -> str | None:
    """Where a call that names no server runs when ``allowed_servers`` is set: the configured
    default server, else the first allowed one, so it does not land wherever the controller
    would place it. None (the controller decides) when ``allowed_servers`` is unset or empty."""
    allowed = config.agent_limits.allowed_servers
    if not allowed:
        return None
    creation = config.session_creation
    configured = creation.defaults.server if creation is not None else None
    return configured if configured is not None else allowed[0]


def limited_request(
    system_name: str, config: EnterpriseSystemConfig, request: _Request
) -> _Request:
    """A caller's worker request once :func:`check_caller` accepts it, with the server
    filled in by :func:`default_server` when the caller gave none."""
    check_caller(system_name, config, request)
    if request.server is None:
        return replace(request, server=default_server(config))
    return request


_Request = TypeVar("_Request", bound=_LaunchRequest)


def whole_number(
    name: str, value: int | None, minimum: int, null_means: str | None = None
) -> int | None:
    """``value`` if it is None or a whole number >= ``minimum``; the refusal says what
    null means when the caller may pass it for that (``null_means``), else what was given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        tail = f", or null for {null_means}" if null_means else f" (got {value!r})"
        raise InvalidArgumentError(f"{name} must be a whole number >= {minimum}{tail}")
    return value


def non_negative_int(name: str, value: int | None) -> int | None:
    """A count of seconds or the like: None, or a whole number >= 0."""
    return whole_number(name, value, 0)


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


def schedule(value: Schedule | Mapping[str, object] | None) -> Schedule | None:
    """A :class:`Schedule` from its fields (a JSON object), checked once."""
    if value is None or isinstance(value, Schedule):
        return value
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            'schedule must be an object such as {"type": "daily", "start_time": "08:00:00", '
            '"stop_time": "18:00:00", "time_zone": "Europe/London"}'
        )
    try:
        return Schedule.model_validate(dict(value))
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"])
        detail = str(problem["msg"]).removeprefix("Value error, ")
        raise InvalidArgumentError(f"schedule{'.' + where if where else ''}: {detail}") from None


def init_timeout(name: str, value: float | None) -> float | None:
    """Seconds a query may take to initialize: positive, at most a day."""
    seconds = positive(name, value)
    if seconds is not None and seconds > 86_400:
        raise InvalidArgumentError(f"{name} must be at most 86400 seconds (got {seconds:g})")
    return seconds


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


# Field names of QuerySettings shadow these checks inside its class body.
_check_schedule = schedule
_check_python_control = python_control


class QuerySettings(WorkerSettings):
    """A new persistent query's parameters after precedence, validated once."""

    configuration_type: _Text = None
    script_code: Annotated[str | None, _named(text)] = None
    enabled: bool | None = None
    schedule: Annotated[Schedule | None, BeforeValidator(_check_schedule)] = None
    jvm_profile: _Text = None
    extra_class_path: _Strings = None
    python_control: Annotated[str | None, BeforeValidator(_check_python_control)] = None
    init_timeout_seconds: Annotated[float | None, _named(init_timeout)] = None
    restart_users: _Text = None
    owner: _Text = None

    def spec(self, name: str) -> PqSpec:
        return PqSpec(
            name=name,
            **self.model_dump(exclude={"session_arguments", "timeout_seconds", "schedule"}),
            schedule=self.schedule or CONTINUOUS,
        )


def resolve_worker(
    name: str, request: WorkerRequest, defaults: EnterpriseCreationDefaults | None
) -> NewWorker:
    """Merge a tool request over the system's ``session_creation.defaults`` and validate."""
    settings = merge_layers(WorkerSettings, request, defaults)
    return NewWorker(
        spec=settings.spec(name),
        timeout_seconds=settings.timeout_seconds,
        session_arguments=settings.session_arguments,
    )


def pq_spec(
    name: str,
    request: QueryRequest,
    defaults: EnterpriseCreationDefaults | None,
    script_code: str | None = None,
) -> PqSpec:
    """A new PQ's spec: ``pq_create`` arguments (heap size is required there) over the
    :data:`PQ_DEFAULTED` launch settings of the system's ``session_creation.defaults``.

    ``script_code`` is the query's script, from ``script_body`` or the file ``script_path``
    names (read by the caller). The schedule defaults to continuous.
    """
    if request.heap_size_gb is None:
        raise InvalidArgumentError("heap_size_gb is required to create a persistent query")
    operator = None
    if defaults is not None:
        operator = {key: getattr(defaults, key) for key in PQ_DEFAULTED}
    decided: dict[str, Any] = {
        "script_code": script_code,
        "python_control": request.python_virtual_environment,
    }
    return merge_layers(QuerySettings, request, operator, **decided).spec(name)

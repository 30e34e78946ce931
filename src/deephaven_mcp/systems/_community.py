"""On-demand community sessions: parameter resolution, limits, launch, delete, credentials.

Parameters resolve as: tool argument -> ``community.session_creation.defaults`` -> built-in
default. A caller (an AI agent) may give only ``session_name``, ``programming_language``,
``heap_size_gb`` (up to ``max_heap_size_gb``) and what the operator listed in
``agent_may_set``: a launch runs code on this host, so images, mounts, venvs, JVM flags and
environment are the operator's to choose. The session limit is enforced atomically: a slot
is reserved before the (slow) launch starts, so concurrent creates cannot overshoot it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, Final, get_args

from deephaven_mcp.config.arguments import first_given, merge_layers, operator_set_refusal
from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import (
    AgentSettable,
    McpConfig,
    SandboxMode,
    SessionCreationConfig,
    SessionCreationDefaults,
    secret_from_env,
)
from deephaven_mcp.demo import demo_script
from deephaven_mcp.errors import (
    DeephavenTimeoutError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
)
from deephaven_mcp.launchers import (
    DEFAULT_DOCKER_IMAGE,
    InstanceTracker,
    LaunchRequest,
    ProgressCallback,
    launch_worker,
    print_access_banner,
    sandbox,
)
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import (
    CommunitySession,
    DynamicCommunitySession,
    ManagedSession,
    SessionId,
    SessionRegistry,
)
from deephaven_mcp.resource_manager.session_id import CONFIG_SOURCE, DYNAMIC_SOURCE
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.runtime.logging import register_secret
from deephaven_mcp.runtime.reservations import Reservations
from deephaven_mcp.systems.results import CommunityCredentials, CommunitySessionCreated

_log = logging.getLogger(__name__)

DOCKER_IMAGES: Final = {
    "Python": "ghcr.io/deephaven/server:latest",
    "Groovy": "ghcr.io/deephaven/server-slim:latest",
}
DEFAULT_LAUNCH_METHOD: Final = "docker"
DEFAULT_HEAP_GB: Final = 4
DEMO_SESSION: Final = "demo"
DEMO_ID: Final = SessionId.community(DYNAMIC_SOURCE, DEMO_SESSION)
DEMO_HEAP_GB: Final = 1
AGENT_MAY_SET_KEY: Final = "community.session_creation.agent_may_set"
MAX_HEAP_KEY: Final = "community.session_creation.max_heap_size_gb"
OPERATOR_SET: Final[tuple[str, ...]] = get_args(AgentSettable)


@dataclass(frozen=True)
class CreateArguments:
    """The optional arguments of ``session_community_create`` (None = not given)."""

    session_name: str
    _: KW_ONLY
    launch_method: str | None = None
    programming_language: str | None = None
    auth_type: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    docker_image: str | None = None
    docker_memory_limit_gb: float | None = None
    docker_cpu_limit: float | None = None
    docker_volumes: list[str] | None = None
    python_venv_path: str | None = None
    heap_size_gb: float | int | None = None
    extra_jvm_args: list[str] | None = None
    environment_vars: Mapping[str, str] | None = None


def _launcher_auth(value: str) -> AuthType:
    auth = AuthType.parse(value)
    if auth is not None and auth.launchable:
        return auth
    if auth is AuthType.BASIC:
        raise InvalidArgumentError(
            "Basic authentication is not supported for dynamic sessions (it needs a user "
            "database); use 'PSK' or 'Anonymous'"
        )
    raise InvalidArgumentError(f"auth_type {value!r} is not supported; use 'PSK' or 'Anonymous'")


def _default_token(defaults: SessionCreationDefaults) -> str | None:
    if defaults.auth_token is not None:
        return defaults.auth_token.get_secret_value()
    if defaults.auth_token_env_var:
        return secret_from_env(
            defaults.auth_token_env_var,
            "session_creation.defaults.auth_token_env_var",
            InvalidArgumentError,
        )
    return None


_DOCKER_ONLY: Final = (
    "programming_language",
    "docker_image",
    "docker_memory_limit_gb",
    "docker_cpu_limit",
    "docker_volumes",
)


def _check_method_arguments(args: CreateArguments, method: str) -> None:
    """Arguments (not config defaults, which may cover both methods) must fit the method."""
    if method == "python":
        for name in _DOCKER_ONLY:
            if getattr(args, name) is not None:
                raise InvalidArgumentError(f"{name} applies only to the docker launch method")
    elif args.python_venv_path is not None:
        raise InvalidArgumentError("python_venv_path applies only to the python launch method")
    if args.programming_language is not None and args.docker_image is not None:
        raise InvalidArgumentError("set either programming_language or docker_image, not both")


def _language_and_image(
    args: CreateArguments, defaults: SessionCreationDefaults, method: str
) -> tuple[str, str]:
    """Language and image decide each other, so the first layer giving either wins both."""
    if method == "python":
        return "Python", DEFAULT_DOCKER_IMAGE  # the image is unused by python launches
    if args.programming_language is not None:
        language = args.programming_language.strip().capitalize()
        if language not in DOCKER_IMAGES:
            raise InvalidArgumentError("programming_language must be 'Python' or 'Groovy'")
        return language, DOCKER_IMAGES[language]
    image = first_given(args.docker_image, defaults.docker_image)
    if image is not None:
        return "Python", image
    language = defaults.programming_language or "Python"
    return language, DOCKER_IMAGES[language]


def _check_caller_arguments(args: CreateArguments, creation: SessionCreationConfig) -> None:
    """Refuse what the operator kept for themselves, before anything is launched.

    Only arguments are checked: the configured defaults are the operator's own choices, so
    they are neither refused nor capped.
    """
    refused = [
        name
        for name in OPERATOR_SET
        if getattr(args, name) is not None and name not in creation.agent_may_set
    ]
    if refused:
        raise PermissionDeniedError(operator_set_refusal(refused, AGENT_MAY_SET_KEY))
    heap, cap = args.heap_size_gb, creation.max_heap_size_gb
    # Not-a-number values are left to the launch request's own check and message.
    if isinstance(heap, int | float) and not isinstance(heap, bool) and heap > cap:
        raise LimitExceededError(
            f"heap_size_gb {heap:g} is above the limit of {cap:g} GB set by {MAX_HEAP_KEY}"
        )


def resolve_request(
    args: CreateArguments, creation: SessionCreationConfig
) -> tuple[LaunchRequest, str]:
    """Check the caller's arguments against the policy, then build the launch request and
    the session's programming language."""
    _check_caller_arguments(args, creation)
    defaults = creation.defaults
    method = first_given(args.launch_method, defaults.launch_method, DEFAULT_LAUNCH_METHOD)
    if method not in ("python", "docker"):
        raise InvalidArgumentError(f"launch_method must be 'python' or 'docker', got {method!r}")
    _check_method_arguments(args, method)
    language, image = _language_and_image(args, defaults, method)

    auth = _launcher_auth(first_given(args.auth_type, defaults.auth_type, AuthType.PSK))
    token = args.auth_token if args.auth_token is not None else _default_token(defaults)
    if auth is AuthType.ANONYMOUS:
        if args.auth_token is not None:
            raise InvalidArgumentError("auth_token is only used with PSK authentication")
        token = None
    if token is not None:
        register_secret(token)

    request = merge_layers(
        LaunchRequest,
        args,
        defaults,
        {"heap_size_gb": DEFAULT_HEAP_GB},
        session_name=args.session_name,
        launch_method=method,
        programming_language=language,
        docker_image=image,
        auth_type=auth,
        auth_token=token,
    )
    return request, language


def sandbox_mode(config: McpConfig) -> SandboxMode:
    """How python workers are isolated: ``session_creation.defaults.sandbox`` or ``auto``."""
    creation = config.community.session_creation
    configured = creation.defaults.sandbox if creation is not None else None
    return configured or "auto"


async def _warn_if_unsandboxed(mode: SandboxMode) -> None:
    """In the background at start: one warning when ``auto`` workers will run unsandboxed."""
    if mode != "auto":
        return
    try:
        support = await call_blocking(
            "checking the sandbox", sandbox.PROBE_TIMEOUT + 5.0, sandbox.probe
        )
    except Exception as exc:
        _log.debug("sandbox check failed: %s", exc)
        return
    sandbox.warn_if_unavailable(mode, support)


def _may_launch_python(config: McpConfig) -> bool:
    """Whether an agent can start a python worker under ``config`` (whose default method
    or ``agent_may_set`` allows it)."""
    creation = config.community.session_creation
    if creation is None or creation.max_concurrent_sessions == 0:
        return False
    default = creation.defaults.launch_method or DEFAULT_LAUNCH_METHOD
    return default == "python" or "launch_method" in creation.agent_may_set


class CommunitySessions:
    """Launches, tracks and deletes this server's dynamic community sessions."""

    def __init__(
        self,
        registry: SessionRegistry,
        timeouts: Timeouts,
        state_dir: Path | None = None,
        *,
        private_paths: tuple[str, ...] = (),
    ) -> None:
        self._registry = registry
        self._timeouts = timeouts
        self._state_dir = state_dir
        # Paths of this server a sandboxed worker must not see (the config's directory).
        self._private_paths = private_paths
        self._reservations = Reservations()
        self._tracker: InstanceTracker | None = None
        self._cleanup: asyncio.Task[None] | None = None
        self._sandbox_check: asyncio.Task[None] | None = None
        self._demo: asyncio.Task[DynamicCommunitySession] | None = None

    async def start(self, config: McpConfig | None = None, *, demo: bool = False) -> None:
        """Record this instance and clean up after instances that died, in the background;
        warn once if python workers would run unsandboxed. ``demo`` starts the demo worker
        (see :meth:`launch_demo`) in the background."""
        self._tracker = InstanceTracker(self._state_dir)
        await self._tracker.start()
        self._cleanup = asyncio.create_task(self._cleanup_orphans(self._tracker))
        if config is not None and (demo or _may_launch_python(config)):
            self._sandbox_check = asyncio.create_task(_warn_if_unsandboxed(sandbox_mode(config)))
        if config is not None and demo:
            # The worker takes a while to start; calls that need it wait for it.
            self._demo = asyncio.create_task(self.launch_demo(config))
            self._demo.add_done_callback(_report_demo)

    @staticmethod
    async def _cleanup_orphans(tracker: InstanceTracker) -> None:
        try:
            report = await tracker.cleanup_orphans()
            _log.info("orphan cleanup: %s", report)
        except Exception as exc:
            _log.warning("orphan cleanup failed: %s", type(exc).__name__)
            _log.debug("orphan cleanup failure", exc_info=exc)

    async def _ready_tracker(self) -> InstanceTracker:
        if self._tracker is None:
            raise RuntimeError("community sessions used before the server started")
        if self._cleanup is not None:
            await self._cleanup
        return self._tracker

    def _dynamic_count(self) -> int:
        """Every launched worker counts against the limit, the demo's included."""
        return sum(
            1
            for session in self._registry.sessions()
            if isinstance(session, DynamicCommunitySession)
        )

    async def create(
        self, config: McpConfig, args: CreateArguments, on_progress: ProgressCallback | None
    ) -> DynamicCommunitySession:
        creation = config.community.session_creation
        if creation is None:
            raise PermissionDeniedError(
                "dynamic session creation is not configured; add community.session_creation "
                "to deephaven_mcp.json"
            )
        request, language = resolve_request(args, creation)
        request = request.model_copy(update={"private_paths": self._private_paths})
        session_id = SessionId.community(DYNAMIC_SOURCE, args.session_name)
        limit = creation.max_concurrent_sessions
        if limit == 0:
            raise PermissionDeniedError(
                "dynamic session creation is disabled (max_concurrent_sessions is 0)"
            )
        with self._reservations.reserve(
            args.session_name,
            limit,
            exists=self._registry.find(session_id) is not None,
            active=self._dynamic_count(),
            taken=f"session '{session_id}' already exists",
            full=lambda active: f"Session limit reached: {active}/{limit} sessions active",
        ):
            return await self._launch(request, language, on_progress)

    async def _launch(
        self, request: LaunchRequest, language: str, on_progress: ProgressCallback | None
    ) -> DynamicCommunitySession:
        tracker = await self._ready_tracker()
        worker = await launch_worker(request, tracker, on_progress)
        session = DynamicCommunitySession(worker, language, self._timeouts)
        try:
            await session.client()  # connected from the start: reports available at once
            await self._registry.add(session)
        except BaseException:
            await session.shutdown()
            raise
        banner = functools.partial(
            print_access_banner, worker, access_file=tracker.access_file(worker.key)
        )
        try:
            await call_blocking("showing the access banner", 10.0, banner)
        except (OSError, DeephavenTimeoutError) as exc:  # the session works without it
            _log.warning("could not show the access banner of %s: %s", worker.session_name, exc)
        _log.info("created %s (%s, port %d)", session.session_id, worker.launch_method, worker.port)
        return session

    async def launch_demo(self, config: McpConfig) -> DynamicCommunitySession:
        """Start the local demo worker (python method, generated PSK, demo tables).

        The operator asked for it, so no limit refuses it; it holds its name and a slot
        while it starts, and counts against ``max_concurrent_sessions`` like any worker.
        """
        request = LaunchRequest(
            session_name=DEMO_SESSION,
            launch_method="python",
            auth_type=AuthType.PSK,
            heap_size_gb=DEMO_HEAP_GB,
            init_script=demo_script("all"),
            startup_timeout_seconds=300.0,
            sandbox=sandbox_mode(config),
            private_paths=self._private_paths,
        )
        with self._reservations.hold(DEMO_SESSION):
            return await self._launch(request, "Python", None)

    async def wait_for_demo(self) -> None:
        """Block until the demo worker (if any) is registered; surface its failure."""
        if self._demo is not None:
            await asyncio.shield(self._demo)

    async def resolve_demo(self, session_id: SessionId) -> ManagedSession | None:
        """The demo session once its worker has started (a registry resolver)."""
        if self._demo is None or session_id != DEMO_ID:
            return None
        await self.wait_for_demo()
        return self._registry.find(session_id)

    def stop_demo(self) -> None:
        """Cancel the demo worker's start if it is still under way."""
        if self._demo is not None and not self._demo.done():
            self._demo.cancel()

    async def delete(self, session_name: str) -> SessionId:
        session_id = SessionId.parse(f"community:{DYNAMIC_SOURCE}:{session_name}")
        found = self._registry.find(session_id)
        if found is None:
            if self._registry.find(SessionId.community(CONFIG_SOURCE, session_name)) is not None:
                raise InvalidArgumentError(
                    f"'{session_name}' is a static session from the config file; only sessions "
                    "created with session_community_create can be deleted"
                )
            raise NotFoundError(f"Session '{session_id}' not found")
        await self._registry.pop(session_id)
        await found.shutdown()
        _log.info("deleted %s", session_id)
        return session_id

    async def shutdown(self) -> None:
        for task in (self._cleanup, self._sandbox_check):
            if task is not None and not task.done():
                task.cancel()
        if self._tracker is not None:
            await self._tracker.shutdown()


def _report_demo(task: asyncio.Task[DynamicCommunitySession]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is None:
        _log.info("demo worker ready as %s", DEMO_ID)
    else:
        _log.error("the demo worker failed to start: %s", error)


def private_paths(config_path: str | None) -> tuple[str, ...]:
    """The configuration file's directory, which sandboxed workers must not see."""
    if config_path is None:
        return ()
    return (os.path.dirname(os.path.abspath(os.path.expanduser(config_path))),)


def credentials(session: ManagedSession, mode: str) -> CommunityCredentials:
    """Connection credentials of a community session, if the retrieval mode allows it."""
    if not isinstance(session, CommunitySession):
        raise InvalidArgumentError("credentials can only be retrieved for community sessions")
    dynamic = isinstance(session, DynamicCommunitySession)
    allowed = (
        mode == "all"
        or (mode == "dynamic_only" and dynamic)
        or (mode == "static_only" and not dynamic)
    )
    _log.warning(
        "credential retrieval for %s (%s session) %s by credential_retrieval_mode=%s",
        session.session_id,
        "dynamic" if dynamic else "static",
        "allowed" if allowed else "denied",
        mode,
    )
    if not allowed:
        if mode == "none":
            raise PermissionDeniedError(
                "Credential retrieval is disabled. Set security.community."
                "credential_retrieval_mode in config."
            )
        raise PermissionDeniedError(
            f"credential_retrieval_mode '{mode}' does not allow "
            f"{'dynamic' if dynamic else 'static'} sessions"
        )
    endpoint = session.endpoint
    return CommunityCredentials(
        session_id=str(session.session_id),
        auth_type=endpoint.auth_type,
        auth_token=endpoint.resolve_token(),
        connection_url=endpoint.base_url,
        browser_url=endpoint.browser_url,
    )


_WITHHELD_NOTE: Final = (
    "The token is not returned because credential retrieval is disabled; it is printed in "
    "the server's console (stderr). Set security.community.credential_retrieval_mode to "
    "'dynamic_only' to receive it here."
)


def created(session: DynamicCommunitySession, mode: str) -> CommunitySessionCreated:
    """The answer to a create: the token only when ``mode`` allows dynamic credentials."""
    worker = session.worker
    fields: dict[str, Any] = {
        "session_id": str(session.session_id),
        "session_name": worker.session_name,
        "connection_url": worker.base_url,
        "auth_type": worker.auth_type,
        "launch_method": worker.launch_method,
        "port": worker.port,
    }
    if worker.container_id:
        fields["container_id"] = worker.container_id
    if worker.pid:
        fields["pid"] = worker.pid
    if worker.auth_type == "PSK" and worker.auth_token:
        if mode in ("dynamic_only", "all"):
            fields["auth_token"] = worker.auth_token
            fields["connection_url_with_auth"] = worker.browser_url
        else:
            fields["note"] = _WITHHELD_NOTE
    else:
        fields["connection_url_with_auth"] = worker.browser_url
    return CommunitySessionCreated(**fields)

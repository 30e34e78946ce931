"""On-demand community sessions: parameter resolution, limits, launch, delete, credentials.

Parameters resolve as: tool argument -> ``community.session_creation.defaults`` -> built-in
default. The session limit is enforced atomically: a slot is reserved before the (slow)
launch starts, so concurrent creates cannot overshoot it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from deephaven_mcp._logging import register_secret
from deephaven_mcp.clients.timeouts import Timeouts
from deephaven_mcp.config.models import (
    ANONYMOUS,
    BASIC,
    PSK_HANDLER,
    McpConfig,
    SessionCreationDefaults,
    normalize_community_auth_type,
)
from deephaven_mcp.demo import demo_script
from deephaven_mcp.errors import (
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
)
from deephaven_mcp.launchers import (
    InstanceTracker,
    LaunchRequest,
    ProgressCallback,
    launch_worker,
    print_access_banner,
)
from deephaven_mcp.resource_manager import (
    CommunitySession,
    DynamicCommunitySession,
    ManagedSession,
    SessionId,
    SessionRegistry,
)
from deephaven_mcp.resource_manager.session_id import CONFIG_SOURCE, DYNAMIC_SOURCE
from deephaven_mcp.systems.results import CommunityCredentials, CommunitySessionCreated

_log = logging.getLogger(__name__)

DOCKER_IMAGES: Final = {
    "Python": "ghcr.io/deephaven/server:latest",
    "Groovy": "ghcr.io/deephaven/server-slim:latest",
}
DEFAULT_LAUNCH_METHOD: Final = "docker"
DEFAULT_HEAP_GB: Final = 4
DEMO_SESSION: Final = "demo"
DEMO_HEAP_GB: Final = 1


@dataclass(frozen=True)
class CreateArguments:
    """The optional arguments of ``session_community_create`` (None = not given)."""

    session_name: str
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


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _launcher_auth(value: str) -> str:
    normalized = normalize_community_auth_type(value)
    if normalized == PSK_HANDLER:
        return "PSK"
    if normalized == ANONYMOUS:
        return "Anonymous"
    if normalized == BASIC:
        raise InvalidArgumentError(
            "Basic authentication is not supported for dynamic sessions (it needs a user "
            "database); use 'PSK' or 'Anonymous'"
        )
    raise InvalidArgumentError(f"auth_type {value!r} is not supported; use 'PSK' or 'Anonymous'")


def _default_token(defaults: SessionCreationDefaults) -> str | None:
    if defaults.auth_token is not None:
        return defaults.auth_token.get_secret_value()
    if defaults.auth_token_env_var:
        token = os.environ.get(defaults.auth_token_env_var)
        if not token:
            raise InvalidArgumentError(
                f"environment variable {defaults.auth_token_env_var} "
                "(session_creation.defaults.auth_token_env_var) is not set"
            )
        register_secret(token)
        return token
    return None


def resolve_request(
    args: CreateArguments, defaults: SessionCreationDefaults
) -> tuple[LaunchRequest, str]:
    """Build the launch request and the session's programming language."""
    method = _first(args.launch_method, defaults.launch_method, DEFAULT_LAUNCH_METHOD)
    if method not in ("python", "docker"):
        raise InvalidArgumentError(f"launch_method must be 'python' or 'docker', got {method!r}")
    if method == "python":
        for name in (
            "programming_language",
            "docker_image",
            "docker_memory_limit_gb",
            "docker_cpu_limit",
            "docker_volumes",
        ):
            if getattr(args, name) is not None:
                raise InvalidArgumentError(f"{name} applies only to the docker launch method")
    elif args.python_venv_path is not None:
        raise InvalidArgumentError("python_venv_path applies only to the python launch method")
    if args.programming_language is not None and args.docker_image is not None:
        raise InvalidArgumentError("set either programming_language or docker_image, not both")

    language = "Python"
    image = None
    if method == "docker":
        requested = args.programming_language
        if requested is not None:
            language = requested.strip().capitalize()
            if language not in DOCKER_IMAGES:
                raise InvalidArgumentError("programming_language must be 'Python' or 'Groovy'")
            image = DOCKER_IMAGES[language]
        elif args.docker_image is not None:
            image = args.docker_image
        elif defaults.docker_image is not None:
            image = defaults.docker_image
        else:
            language = defaults.programming_language or "Python"
            image = DOCKER_IMAGES[language]

    auth = _launcher_auth(_first(args.auth_type, defaults.auth_type, "PSK"))
    token = args.auth_token if args.auth_token is not None else _default_token(defaults)
    if auth == "Anonymous":
        if args.auth_token is not None:
            raise InvalidArgumentError("auth_token is only used with PSK authentication")
        token = None
    if token is not None:
        register_secret(token)

    optional: dict[str, Any] = {}
    if defaults.startup_timeout_seconds is not None:
        optional["startup_timeout_seconds"] = float(defaults.startup_timeout_seconds)
    if defaults.startup_check_interval_seconds is not None:
        optional["startup_check_interval_seconds"] = float(defaults.startup_check_interval_seconds)
    if defaults.startup_retries is not None:
        optional["startup_retries"] = defaults.startup_retries
    if image is not None:
        optional["docker_image"] = image
    request = LaunchRequest(
        session_name=args.session_name,
        launch_method=method,
        auth_type=auth,  # type: ignore[arg-type]
        auth_token=token,
        heap_size_gb=_first(args.heap_size_gb, defaults.heap_size_gb, DEFAULT_HEAP_GB),
        extra_jvm_args=tuple(_first(args.extra_jvm_args, defaults.extra_jvm_args, [])),
        environment_vars=dict(_first(args.environment_vars, defaults.environment_vars, {})),
        python_venv_path=_first(args.python_venv_path, defaults.python_venv_path),
        programming_language=language,  # type: ignore[arg-type]
        docker_memory_limit_gb=_first(args.docker_memory_limit_gb, defaults.docker_memory_limit_gb),
        docker_cpu_limit=_first(args.docker_cpu_limit, defaults.docker_cpu_limit),
        docker_volumes=tuple(_first(args.docker_volumes, defaults.docker_volumes, [])),
        **optional,
    )
    return request, language


class CommunitySessions:
    """Launches, tracks and deletes this server's dynamic community sessions."""

    def __init__(self, registry: SessionRegistry, timeouts: Timeouts) -> None:
        self._registry = registry
        self._timeouts = timeouts
        self._lock = asyncio.Lock()
        self._pending: set[str] = set()
        self._tracker: InstanceTracker | None = None
        self._cleanup: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Record this instance and clean up after instances that died, in the background."""
        self._tracker = InstanceTracker()
        await self._tracker.start()
        self._cleanup = asyncio.create_task(self._cleanup_orphans(self._tracker))

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
        return sum(
            1
            for session in self._registry.sessions()
            if isinstance(session, DynamicCommunitySession)
            and session.session_id.name != DEMO_SESSION
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
        request, language = resolve_request(args, creation.defaults)
        session_id = SessionId.community(DYNAMIC_SOURCE, args.session_name)
        async with self._lock:
            limit = creation.max_concurrent_sessions
            if limit == 0:
                raise PermissionDeniedError(
                    "dynamic session creation is disabled (max_concurrent_sessions is 0)"
                )
            if self._registry.find(session_id) is not None or args.session_name in self._pending:
                raise InvalidArgumentError(f"session '{session_id}' already exists")
            active = self._dynamic_count() + len(self._pending)
            if active >= limit:
                raise LimitExceededError(f"Session limit reached: {active}/{limit} sessions active")
            self._pending.add(args.session_name)
        try:
            return await self._launch(request, language, on_progress)
        finally:
            async with self._lock:
                self._pending.discard(args.session_name)

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
        print_access_banner(worker)
        _log.info("created %s (%s, port %d)", session.session_id, worker.launch_method, worker.port)
        return session

    async def launch_demo(self) -> DynamicCommunitySession:
        """Start the local demo worker (python method, generated PSK, demo tables)."""
        request = LaunchRequest(
            session_name=DEMO_SESSION,
            launch_method="python",
            auth_type="PSK",
            heap_size_gb=DEMO_HEAP_GB,
            init_script=demo_script("all"),
            startup_timeout_seconds=300.0,
        )
        return await self._launch(request, "Python", None)

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
        if self._cleanup is not None and not self._cleanup.done():
            self._cleanup.cancel()
        if self._tracker is not None:
            await self._tracker.shutdown()


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
    token = endpoint.resolve_token()
    base = endpoint.base_url
    anonymous = endpoint.auth_type == ANONYMOUS
    return CommunityCredentials(
        session_id=str(session.session_id),
        auth_type="Anonymous"
        if anonymous
        else ("PSK" if endpoint.auth_type == PSK_HANDLER else endpoint.auth_type),
        auth_token=token,
        connection_url=base,
        browser_url=f"{base}/?psk={token}"
        if endpoint.auth_type == PSK_HANDLER and token
        else f"{base}/",
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

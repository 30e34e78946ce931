"""The docker launch method, through the Docker SDK (``docker.from_env()``, so DOCKER_HOST
and the CLI context are honoured). See :mod:`docker_spec` for the container spec and how
the pre-shared key is kept off command lines."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from deephaven_mcp.errors import (
    DependencyMissingError,
    InvalidArgumentError,
    SessionUnavailableError,
)
from deephaven_mcp.launchers.docker_spec import (
    CONTAINER_PORT,
    LABEL_INSTANCE,
    ContainerSpec,
    build_container_spec,
)
from deephaven_mcp.launchers.models import LaunchRequest
from deephaven_mcp.launchers.readiness import WorkerExitedError
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.runtime.logging import redact

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

_log = logging.getLogger(__name__)

API_TIMEOUT: Final = 60
CONNECT_TIMEOUT: Final = 30.0
PULL_TIMEOUT: Final = 1800.0
CLEANUP_CONNECT_TIMEOUT: Final = 10


class StartFailedError(Exception):
    """Creating or starting the container failed in a way a retry may fix."""


def _docker_errors() -> tuple[type[BaseException], ...]:
    import requests  # the Docker SDK's transport, loaded with it
    from docker.errors import DockerException

    return (DockerException, requests.RequestException)


def _daemon_hint() -> str:
    host = os.environ.get("DOCKER_HOST")
    where = f"DOCKER_HOST={redact(host)}" if host else "the default Docker socket"
    return (
        f"the Docker daemon is not reachable ({where}); is Docker running? Check with `docker ps`"
    )


def connect_docker(timeout: int = API_TIMEOUT) -> DockerClient:
    """A client talking to a reachable daemon (blocking); DependencyMissingError otherwise."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except _docker_errors() as exc:
        _log.debug("docker connection failed: %s", redact(str(exc)))
        raise DependencyMissingError(_daemon_hint()) from None
    return client


def _remove_stale(client: DockerClient, spec: ContainerSpec) -> None:
    """Remove a leftover container with our name, but only if it carries our labels."""
    from docker.errors import NotFound

    try:
        existing = client.containers.get(spec.name)
    except NotFound:
        return
    labels = existing.labels or {}
    if labels.get(LABEL_INSTANCE) == spec.labels[LABEL_INSTANCE]:
        existing.remove(v=True, force=True)


def _create(client: DockerClient, spec: ContainerSpec) -> Container:
    ports: Any = spec.ports  # the stubs do not allow (host_ip, None) = "any free port"
    return client.containers.create(
        spec.image,
        name=spec.name,
        environment=spec.environment,
        labels=spec.labels,
        ports=ports,
        volumes=spec.volumes or None,
        mem_limit=spec.mem_limit,
        nano_cpus=spec.nano_cpus,
        # The SDK insists on lists here (security_opt raises on a tuple).
        cap_drop=list(spec.cap_drop),
        security_opt=list(spec.security_opt),
        pids_limit=spec.pids_limit,
        detach=True,
    )


def _pull(client: DockerClient, image: str) -> None:
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(image)
    for chunk in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
        if isinstance(chunk, dict) and chunk.get("error"):
            raise SessionUnavailableError(
                f"could not pull docker image {image!r}: {redact(str(chunk['error']))[:300]}"
            )


def _create_and_start(client: DockerClient, spec: ContainerSpec, created: list[str]) -> Container:
    container = _create(client, spec)
    created.append(container.id or "")
    if spec.auth_archive is not None and not container.put_archive("/", spec.auth_archive):
        raise StartFailedError("uploading the authentication file into the container failed")
    container.start()
    return container


class DockerContainerHandle:
    """A created and started container of one launch attempt."""

    def __init__(self, client: DockerClient, container: Container, host_ip: str) -> None:
        self.client = client
        self.container = container
        self.container_id: str = container.id or ""
        self.host_ip = host_ip

    async def check_port(self) -> int | None:
        """The host port of the running container, None while not yet bound.

        Raises WorkerExitedError once the container has exited or disappeared.
        """
        return await call_blocking(
            "inspecting the container", float(API_TIMEOUT), self._inspect_port
        )

    def _inspect_port(self) -> int | None:
        from docker.errors import NotFound

        try:
            self.container.reload()
        except NotFound:
            raise WorkerExitedError("container disappeared") from None
        except _docker_errors() as exc:
            _log.debug("inspecting container failed: %s", redact(str(exc)))
            return None
        state = self.container.attrs.get("State") or {}
        status = state.get("Status")
        if status in ("exited", "dead", "removing"):
            raise WorkerExitedError(f"container {status} with code {state.get('ExitCode')}")
        if status != "running":
            return None
        ports = (self.container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for binding in ports.get(CONTAINER_PORT) or []:
            host_port = str(binding.get("HostPort") or "")
            if host_port.isdigit() and int(host_port) > 0:
                return int(host_port)
        return None

    async def log_tail(self, lines: int = 80) -> str:
        """The container's last ``lines`` log lines, redacted (or why they are unavailable)."""
        try:
            data = await call_blocking(
                "reading container logs", float(API_TIMEOUT), self.container.logs, tail=lines
            )
        except Exception as exc:
            return f"(container logs unavailable: {type(exc).__name__})"
        return redact(data.decode("utf-8", errors="replace"))

    async def stop(self, timeout: float) -> None:
        """Stop the container (``timeout`` seconds of grace; 0 kills it) and remove it."""
        await call_blocking(
            "stopping the container", timeout + API_TIMEOUT + 10.0, self._stop, timeout
        )

    def _stop(self, timeout: float) -> None:
        from docker.errors import NotFound

        try:
            if timeout > 0:
                try:
                    self.container.stop(timeout=math.ceil(timeout))
                except NotFound:
                    return
            self.container.remove(v=True, force=True)
        except NotFound:
            return
        except _docker_errors() as exc:
            _log.debug("stopping container %s failed: %s", self.container_id[:12], redact(str(exc)))
            raise SessionUnavailableError(
                f"could not stop container {self.container_id[:12]}: {_daemon_hint()}"
            ) from None
        finally:
            self.client.close()

    async def is_running(self) -> bool:
        """Whether the container is running; False when Docker cannot say."""
        try:
            return await call_blocking(
                "inspecting the container", float(API_TIMEOUT), self._is_running
            )
        except Exception as exc:
            _log.debug("container status unknown: %s", redact(str(exc)))
            return False

    def _is_running(self) -> bool:
        from docker.errors import NotFound

        try:
            self.container.reload()
        except NotFound:
            return False
        return bool(self.container.status == "running")


async def start_docker_worker(
    request: LaunchRequest,
    token: str | None,
    *,
    instance_id: str,
    key: str,
    on_progress: Callable[[str], Awaitable[None]],
) -> DockerContainerHandle:
    """Create and start the container; readiness is checked by the caller.

    The caller records the launch in the instance tracker *before* calling this, so a crash
    here still leaves a record whose instance label finds the container.
    """
    from docker.errors import APIError, ImageNotFound

    client = await call_blocking("connecting to Docker", CONNECT_TIMEOUT, connect_docker)
    spec = build_container_spec(request, token, instance_id=instance_id, key=key)
    created: list[str] = []

    def attempt() -> Container:
        _remove_stale(client, spec)
        return _create_and_start(client, spec, created)

    create_timeout = float(API_TIMEOUT) * 2
    try:
        try:
            container = await call_blocking("creating the container", create_timeout, attempt)
        except ImageNotFound:
            await on_progress(f"Pulling docker image {request.docker_image}")
            await call_blocking("pulling the docker image", PULL_TIMEOUT, _pull, client, spec.image)
            container = await call_blocking("creating the container", create_timeout, attempt)
    except ImageNotFound:
        await _discard(client, created)
        raise InvalidArgumentError(f"docker image {request.docker_image!r} was not found") from None
    except APIError as exc:
        await _discard(client, created)
        detail = redact(str(exc.explanation or exc))[:300]
        raise StartFailedError(f"docker refused the container: {detail}") from None
    except _docker_errors():
        await _discard(client, created)
        raise DependencyMissingError(_daemon_hint()) from None
    except BaseException:
        await _discard(client, created)
        raise
    _log.info(
        "started container %s for session %r (image %s)",
        (container.id or "")[:12],
        request.session_name,
        request.docker_image,
    )
    return DockerContainerHandle(client, container, request.host)


async def _discard(client: DockerClient, container_ids: list[str]) -> None:
    def remove() -> None:
        for container_id in container_ids:
            try:
                client.containers.get(container_id).remove(v=True, force=True)
            except _docker_errors() as exc:
                _log.debug("removing failed container %s: %s", container_id[:12], redact(str(exc)))
        client.close()

    try:
        await call_blocking("removing a failed container", float(API_TIMEOUT), remove)
    except Exception as exc:
        _log.debug("cleanup after a failed docker start failed: %s", exc)


def _remove_labelled(instance_id: str) -> int:
    from docker.errors import NotFound

    client = connect_docker(CLEANUP_CONNECT_TIMEOUT)
    removed = 0
    try:
        containers = client.containers.list(
            all=True, filters={"label": [f"{LABEL_INSTANCE}={instance_id}"]}, ignore_removed=True
        )
        for container in containers:
            try:
                container.remove(v=True, force=True)
                removed += 1
            except NotFound:
                pass
    except _docker_errors() as exc:
        _log.debug("container cleanup for %s failed: %s", instance_id, redact(str(exc)))
        raise DependencyMissingError(_daemon_hint()) from None
    finally:
        client.close()
    return removed


async def remove_instance_containers(instance_id: str, timeout: float = 120.0) -> int | None:
    """Force-remove every container labelled with ``instance_id``; None if Docker is not
    reachable (nothing is done then)."""
    try:
        return await call_blocking(
            "removing orphaned containers", timeout, _remove_labelled, instance_id
        )
    except DependencyMissingError:
        _log.debug("docker not reachable; skipping container cleanup for %s", instance_id)
        return None

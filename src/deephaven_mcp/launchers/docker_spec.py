"""The container spec for the docker launch method (pure functions, no daemon needed).

JVM options reach the Deephaven image's start script through its ``START_OPTS``
environment variable (the image's ``bin/start`` is a Gradle start script whose options
variable is ``START_OPTS``; it is inserted before the main class).

Keeping the pre-shared key off command lines: anything in ``START_OPTS`` ends up on the
container's ``java`` command line, which ``ps`` on the Docker host shows. So the key goes
into a Java *argument file* instead: ``START_OPTS`` carries only ``@/deephaven-mcp/jvm-auth.args``
and the Java launcher reads ``-Dauthentication.psk=...`` from that file. The file is copied
into the created (not yet started) container through the Engine API archive upload, so it
works with local and remote daemons alike, never exists on the host filesystem, is not in
the container's environment (``docker inspect``), and disappears when the container is
removed. The authentication handler class itself is not secret and stays in ``START_OPTS``.

Container hardening (every container, not configurable): all Linux capabilities dropped
(Deephaven binds an unprivileged port and needs none), ``no-new-privileges`` so nothing
in the container can gain privileges through setuid binaries, a process/thread cap
(:data:`PIDS_LIMIT`) against fork bombs, and a memory limit even when none is configured
(:func:`default_memory_limit_bytes`) so a runaway worker cannot take the host's memory.
"""

from __future__ import annotations

import io
import re
import shlex
import tarfile
import time
from dataclasses import dataclass, field
from typing import Final

from deephaven_mcp.config.auth_type import ANONYMOUS_HANDLER, PSK_HANDLER, AuthType
from deephaven_mcp.launchers.models import (
    LaunchRequest,
)

CONTAINER_PORT: Final = "10000/tcp"
START_OPTS_ENV: Final = "START_OPTS"
AUTH_ARGS_DIR: Final = "deephaven-mcp"
AUTH_ARGS_PATH: Final = f"/{AUTH_ARGS_DIR}/jvm-auth.args"
LABEL_MANAGED: Final = "deephaven-mcp.managed"
LABEL_INSTANCE: Final = "deephaven-mcp.instance"
LABEL_SESSION: Final = "deephaven-mcp.session"
LABEL_KEY: Final = "deephaven-mcp.key"
# Hardening passed to ``containers.create``: see the module docstring.
CAP_DROP: Final = ("ALL",)
SECURITY_OPT: Final = ("no-new-privileges",)
# Processes + threads in the container. A JVM uses a few hundred threads (GC, JIT, gRPC,
# update graph pools sized by CPU count); 4096 leaves ample room on large hosts while
# still stopping a fork bomb long before it hurts the host.
PIDS_LIMIT: Final = 4096
# Default limit when docker_memory_limit_gb is unset: heap + max(1 GiB, 25 % of heap).
# The JVM needs memory beyond -Xmx (metaspace, code cache, thread stacks, direct buffers
# for Arrow/gRPC, the embedded Python); 1 GiB covers that for small heaps, a quarter of
# the heap for large ones.
MIN_MEMORY_HEADROOM_BYTES: Final = 1024**3
MEMORY_HEADROOM_FRACTION: Final = 0.25
_SAFE_ARG: Final = re.compile(r"^[\w@%+=:,./-]+$")
_NAME_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class ContainerSpec:
    """What ``client.containers.create`` gets, plus the auth file to upload before start."""

    image: str
    name: str
    environment: dict[str, str]
    labels: dict[str, str]
    ports: dict[str, tuple[str, None]]
    volumes: list[str]
    mem_limit: int
    nano_cpus: int | None
    cap_drop: tuple[str, ...] = CAP_DROP
    security_opt: tuple[str, ...] = SECURITY_OPT
    pids_limit: int = PIDS_LIMIT
    # Tar archive to extract at "/" before the container starts (None for anonymous).
    auth_archive: bytes | None = field(default=None, repr=False)


def container_name(session_name: str, instance_id: str) -> str:
    """``dh-mcp-<session>-<short instance id>``, restricted to docker's name alphabet."""
    return f"dh-mcp-{_NAME_UNSAFE.sub('-', session_name)}-{instance_id[:8]}"


def _quote(arg: str) -> str:
    return arg if _SAFE_ARG.match(arg) else shlex.quote(arg)


def build_start_opts(request: LaunchRequest) -> str:
    """JVM options for the image's start script: heap, extra args, auth handler, and for
    PSK a reference to the argument file holding the key."""
    parts: list[str] = []
    user_opts = request.environment_vars.get(START_OPTS_ENV, "").strip()
    if user_opts:
        parts.append(user_opts)
    parts.append(request.heap_arg)
    parts += [_quote(arg) for arg in request.extra_jvm_args]
    if request.auth_type is AuthType.PSK:
        parts.append(f"-DAuthHandlers={PSK_HANDLER}")
        parts.append(f"@{AUTH_ARGS_PATH}")
    else:
        parts.append(f"-DAuthHandlers={ANONYMOUS_HANDLER}")
    return " ".join(parts)


def auth_args_archive(token: str) -> bytes:
    """A tar with ``deephaven-mcp/jvm-auth.args`` holding the PSK system property.

    The token alphabet is validated (no quotes, backslashes or whitespace), so quoting it
    for the Java argument-file syntax is trivial.
    """
    content = f'"-Dauthentication.psk={token}"\n'.encode("ascii")
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo(AUTH_ARGS_DIR)
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.mtime = int(now)
        tar.addfile(directory)
        info = tarfile.TarInfo(AUTH_ARGS_PATH.lstrip("/"))
        info.size = len(content)
        # Readable by whatever user the image runs as; only the container can see it.
        info.mode = 0o644
        info.mtime = int(now)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def heap_bytes(heap_size_gb: int | float) -> int:
    """The heap in bytes, rounded like the ``-Xmx`` flag (whole megabytes)."""
    return round(heap_size_gb * 1024) * 1024**2


def default_memory_limit_bytes(heap_size_gb: int | float) -> int:
    """Container memory limit when none is configured: heap plus headroom for the JVM's
    off-heap memory (see :data:`MIN_MEMORY_HEADROOM_BYTES`)."""
    heap = heap_bytes(heap_size_gb)
    headroom = max(MIN_MEMORY_HEADROOM_BYTES, round(heap * MEMORY_HEADROOM_FRACTION))
    return heap + headroom


def memory_limit_bytes(request: LaunchRequest) -> int:
    """The configured ``docker_memory_limit_gb`` if set, else the default rule."""
    if request.docker_memory_limit_gb is not None:
        return round(request.docker_memory_limit_gb * 1024**3)
    return default_memory_limit_bytes(request.heap_size_gb)


def build_container_spec(
    request: LaunchRequest, token: str | None, *, instance_id: str, key: str
) -> ContainerSpec:
    """The container for ``request``: image, environment, our labels, port, volumes, limits
    and (PSK) the archive holding the key."""
    environment = {k: v for k, v in request.environment_vars.items() if k != START_OPTS_ENV}
    environment[START_OPTS_ENV] = build_start_opts(request)
    labels = {
        LABEL_MANAGED: "true",
        LABEL_INSTANCE: instance_id,
        LABEL_SESSION: request.session_name,
        LABEL_KEY: key,
    }
    mem_limit = memory_limit_bytes(request)
    nano_cpus = (
        round(request.docker_cpu_limit * 1_000_000_000)
        if request.docker_cpu_limit is not None
        else None
    )
    archive = auth_args_archive(token) if request.auth_type is AuthType.PSK and token else None
    return ContainerSpec(
        image=request.docker_image,
        name=container_name(request.session_name, instance_id),
        environment=environment,
        labels=labels,
        ports={CONTAINER_PORT: (request.host, None)},
        volumes=[mount.bind for mount in request.volume_mounts],
        mem_limit=mem_limit,
        nano_cpus=nano_cpus,
        auth_archive=archive,
    )

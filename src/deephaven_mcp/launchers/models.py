"""What to launch: a fully resolved, validated :class:`LaunchRequest`.

The MCP tool resolves tool arguments and config defaults; this module only checks that the
result is coherent and converts values into the forms the launchers need (JVM heap flag,
docker bind strings). Every problem raises :class:`InvalidArgumentError` with a message a
human can act on.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from deephaven_mcp.config.models import NAME_PATTERN, NAME_RULE
from deephaven_mcp.errors import InvalidArgumentError

LaunchMethod = Literal["python", "docker"]
AuthType = Literal["PSK", "Anonymous"]
ProgrammingLanguage = Literal["Python", "Groovy"]

PSK_HANDLER: Final = "io.deephaven.authentication.psk.PskAuthenticationHandler"
ANONYMOUS_HANDLER: Final = "io.deephaven.auth.AnonymousAuthenticationHandler"
PSK_ENV: Final = "DH_MCP_WORKER_PSK"
DEFAULT_DOCKER_IMAGE: Final = "ghcr.io/deephaven/server:latest"

MAX_TOKEN_LENGTH: Final = 512
# Printable ASCII without whitespace, quotes or backslash: safe in an HTTP header, in a
# java @argfile and (URL-encoded) in a browser URL.
_TOKEN_PATTERN: Final = re.compile(r"^[!#-&(-\[\]-~]+$")
_ENV_NAME_PATTERN: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VOLUME_NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VOLUME_OPTIONS: Final = frozenset(
    {"ro", "rw", "z", "Z", "nocopy", "shared", "slave", "private", "rshared", "rslave", "rprivate"}
)
_WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::", "[::]"})  # noqa: S104 - only compared
# JVM flags that would put authentication on a command line or fight the launcher.
_RESERVED_JVM_PREFIXES: Final = ("-Dauthentication.psk", "-DAuthHandlers")


def heap_jvm_arg(heap_size_gb: int | float) -> str:
    """JVM max-heap flag: an int is whole gigabytes (4 -> -Xmx4g), a float is converted to
    megabytes (2.5 -> -Xmx2560m)."""
    if isinstance(heap_size_gb, bool) or not isinstance(heap_size_gb, int | float):
        raise InvalidArgumentError("heap_size_gb must be a number of gigabytes, e.g. 4 or 2.5")
    if not math.isfinite(heap_size_gb) or heap_size_gb <= 0:
        raise InvalidArgumentError(f"heap_size_gb must be positive, got {heap_size_gb!r}")
    if isinstance(heap_size_gb, int):
        return f"-Xmx{heap_size_gb}g"
    megabytes = round(heap_size_gb * 1024)
    if megabytes < 1:
        raise InvalidArgumentError(f"heap_size_gb {heap_size_gb!r} is less than 1 MB")
    return f"-Xmx{megabytes}m"


@dataclass(frozen=True)
class VolumeMount:
    """One parsed ``host:container[:mode]`` docker volume."""

    source: str
    target: str
    mode: str = "rw"

    @property
    def bind(self) -> str:
        """The docker SDK / Engine API bind string."""
        return f"{self.source}:{self.target}:{self.mode}"


def parse_volume(spec: str) -> VolumeMount:
    """Parse ``host:container[:mode]``; host is an absolute or relative path, ``~``-path, or
    a named volume; relative paths are made absolute against the current directory."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError("docker volume must be a non-empty 'host:container[:mode]'")
    if any(ord(ch) < 32 for ch in spec):
        raise InvalidArgumentError(f"docker volume {spec!r} contains control characters")
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidArgumentError(
            f"docker volume {spec!r} must look like 'host:container' or 'host:container:mode'"
        )
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if not target.startswith("/"):
        raise InvalidArgumentError(
            f"docker volume {spec!r}: container path {target!r} must be absolute"
        )
    options = mode.split(",")
    unknown = [opt for opt in options if opt not in _VOLUME_OPTIONS]
    if not mode or unknown:
        raise InvalidArgumentError(
            f"docker volume {spec!r}: unknown mode {mode!r} "
            f"(use a comma-separated list of {', '.join(sorted(_VOLUME_OPTIONS))})"
        )
    if "ro" in options and "rw" in options:
        raise InvalidArgumentError(f"docker volume {spec!r}: mode cannot be both 'ro' and 'rw'")
    if source.startswith("~"):
        source = os.path.expanduser(source)
    if not source.startswith("/"):
        if "/" in source or source.startswith("."):
            source = os.path.abspath(source)
        elif not _VOLUME_NAME_PATTERN.match(source):
            raise InvalidArgumentError(
                f"docker volume {spec!r}: {source!r} is neither a path nor a valid volume name"
            )
    return VolumeMount(source=source, target=target, mode=mode)


def validate_token(token: str) -> str:
    """Check a pre-shared key supplied by the user (the value is never echoed back)."""
    if not isinstance(token, str) or not token:
        raise InvalidArgumentError("auth_token must be a non-empty string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidArgumentError(f"auth_token is longer than {MAX_TOKEN_LENGTH} characters")
    if not _TOKEN_PATTERN.match(token):
        raise InvalidArgumentError(
            "auth_token must be printable ASCII without spaces, quotes or backslashes"
        )
    return token


def _normalize_auth_type(value: str) -> AuthType:
    lowered = value.strip().lower() if isinstance(value, str) else ""
    if lowered in ("psk", PSK_HANDLER.lower()):
        return "PSK"
    if lowered in ("anonymous", ANONYMOUS_HANDLER.lower()):
        return "Anonymous"
    raise InvalidArgumentError(
        f"auth_type {value!r} is not supported for launched sessions; use 'PSK' or 'Anonymous'"
    )


def _positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name} must be positive, got {value!r}")


def _check_jvm_args(args: tuple[str, ...]) -> None:
    for arg in args:
        if not isinstance(arg, str) or not arg.strip():
            raise InvalidArgumentError("extra_jvm_args entries must be non-empty strings")
        if any(ord(ch) < 32 for ch in arg):
            raise InvalidArgumentError(f"JVM argument {arg!r} contains control characters")
        if arg.startswith(_RESERVED_JVM_PREFIXES):
            raise InvalidArgumentError(
                "set authentication with auth_type/auth_token, not with extra_jvm_args"
            )


def _check_environment(env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME_PATTERN.match(name):
            raise InvalidArgumentError(f"environment variable name {name!r} is not valid")
        if not isinstance(value, str) or "\x00" in value:
            raise InvalidArgumentError(f"environment variable {name} must be a string")
        if name == PSK_ENV:
            raise InvalidArgumentError(f"{PSK_ENV} is reserved; use auth_token instead")


@dataclass(frozen=True, kw_only=True)
class LaunchRequest:
    """Everything needed to start one community worker, already resolved by the caller.

    Fields that do not apply to ``launch_method`` (e.g. docker limits for a python launch)
    are validated but ignored, because config defaults may mention both methods.
    """

    session_name: str
    launch_method: LaunchMethod
    auth_type: AuthType = "PSK"
    # None with PSK: a token is generated. Never shown in repr.
    auth_token: str | None = field(default=None, repr=False)
    heap_size_gb: int | float = 4
    extra_jvm_args: tuple[str, ...] = ()
    environment_vars: Mapping[str, str] = field(default_factory=dict)
    python_venv_path: str | None = None
    # Worker-side source run once the worker is up (python: before readiness; docker: after).
    init_script: str | None = None
    programming_language: ProgrammingLanguage = "Python"
    docker_image: str = DEFAULT_DOCKER_IMAGE
    docker_memory_limit_gb: float | None = None
    docker_cpu_limit: float | None = None
    docker_volumes: tuple[str, ...] = ()
    startup_timeout_seconds: float = 120.0
    startup_check_interval_seconds: float = 0.5
    startup_retries: int = 2
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not isinstance(self.session_name, str) or not NAME_PATTERN.match(self.session_name):
            raise InvalidArgumentError(
                f"invalid session name {self.session_name!r}: use {NAME_RULE}"
            )
        if self.launch_method not in ("python", "docker"):
            raise InvalidArgumentError(
                f"launch_method must be 'python' or 'docker', got {self.launch_method!r}"
            )
        object.__setattr__(self, "auth_type", _normalize_auth_type(self.auth_type))
        if self.auth_token is not None:
            if self.auth_type == "Anonymous":
                raise InvalidArgumentError("auth_token is only used with PSK authentication")
            validate_token(self.auth_token)
        heap_jvm_arg(self.heap_size_gb)
        object.__setattr__(self, "extra_jvm_args", tuple(self.extra_jvm_args))
        _check_jvm_args(self.extra_jvm_args)
        env = dict(self.environment_vars)
        _check_environment(env)
        object.__setattr__(self, "environment_vars", MappingProxyType(env))
        if self.python_venv_path is not None and not self.python_venv_path.strip():
            raise InvalidArgumentError("python_venv_path must not be empty")
        if self.init_script is not None and not isinstance(self.init_script, str):
            raise InvalidArgumentError("init_script must be Python (or Groovy) source text")
        if self.programming_language not in ("Python", "Groovy"):
            raise InvalidArgumentError("programming_language must be 'Python' or 'Groovy'")
        self._check_docker_fields()
        _positive("startup_timeout_seconds", self.startup_timeout_seconds)
        _positive("startup_check_interval_seconds", self.startup_check_interval_seconds)
        retries = self.startup_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise InvalidArgumentError("startup_retries must be an integer from 0 to 10")
        if not isinstance(self.host, str) or not self.host or any(c.isspace() for c in self.host):
            raise InvalidArgumentError(f"host {self.host!r} is not valid")

    def _check_docker_fields(self) -> None:
        if not isinstance(self.docker_image, str) or not self.docker_image.strip():
            raise InvalidArgumentError("docker_image must be a non-empty image reference")
        if any(c.isspace() for c in self.docker_image):
            raise InvalidArgumentError(f"docker_image {self.docker_image!r} contains spaces")
        _positive("docker_memory_limit_gb", self.docker_memory_limit_gb, allow_none=True)
        _positive("docker_cpu_limit", self.docker_cpu_limit, allow_none=True)
        object.__setattr__(self, "docker_volumes", tuple(self.docker_volumes))
        for volume in self.docker_volumes:
            parse_volume(volume)
        if self.launch_method == "docker":
            try:
                ipaddress.ip_address(self.host.strip("[]"))
            except ValueError:
                raise InvalidArgumentError(
                    f"host {self.host!r}: docker publishes ports on an IP address, e.g. 127.0.0.1"
                ) from None
        limit = self.docker_memory_limit_gb
        if self.launch_method == "docker" and limit is not None and self.heap_size_gb >= limit:
            raise InvalidArgumentError(
                f"heap_size_gb ({self.heap_size_gb}) must be below docker_memory_limit_gb "
                f"({limit}); the JVM needs memory beyond its heap"
            )

    @property
    def heap_arg(self) -> str:
        return heap_jvm_arg(self.heap_size_gb)

    @property
    def volume_mounts(self) -> tuple[VolumeMount, ...]:
        return tuple(parse_volume(volume) for volume in self.docker_volumes)

    @property
    def connect_host(self) -> str:
        """Where clients connect: a wildcard bind address is reached through loopback."""
        return "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host

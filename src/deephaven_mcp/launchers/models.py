"""What to launch: a fully resolved, validated :class:`LaunchRequest`.

The MCP tool resolves tool arguments and config defaults (one
:func:`~deephaven_mcp.config.arguments.merge_layers` call); this module checks that the
result is coherent and converts values into the forms the launchers need (JVM heap flag,
docker bind strings). Every problem raises :class:`InvalidArgumentError` with a message a
human can act on.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import (
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_validator,
)

from deephaven_mcp.config.arguments import ArgumentModel
from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.models import NAME_PATTERN, NAME_RULE, SandboxMode
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.arguments import not_a_number

LaunchMethod = Literal["python", "docker"]
ProgrammingLanguage = Literal["Python", "Groovy"]

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
        raise not_a_number("heap_size_gb", heap_size_gb)
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


class LaunchRequest(ArgumentModel):
    """Everything needed to start one community worker, already resolved by the caller.

    Fields that do not apply to ``launch_method`` (e.g. docker limits for a python launch)
    are validated but ignored, because config defaults may mention both methods. Fields are
    declared in the order they are checked, so the first problem reported stays the same.
    """

    session_name: str
    launch_method: LaunchMethod
    auth_type: AuthType = AuthType.PSK
    # None with PSK: a token is generated. Never shown in repr.
    auth_token: str | None = Field(default=None, repr=False)
    heap_size_gb: int | float = 4
    extra_jvm_args: tuple[str, ...] = ()
    environment_vars: Mapping[str, str] = Field(default_factory=lambda: MappingProxyType({}))
    python_venv_path: str | None = None
    # Worker-side source run once the worker is up (python: before readiness; docker: after).
    init_script: str | None = None
    programming_language: ProgrammingLanguage = "Python"
    docker_image: str = DEFAULT_DOCKER_IMAGE
    docker_memory_limit_gb: int | float | None = None
    docker_cpu_limit: int | float | None = None
    docker_volumes: tuple[str, ...] = ()
    startup_timeout_seconds: float = 120.0
    startup_check_interval_seconds: float = 0.5
    startup_retries: int = 2
    host: str = "127.0.0.1"
    # How a python launch is isolated (operator-only; see launchers.sandbox).
    sandbox: SandboxMode = "auto"
    # Server paths a sandboxed worker must not see beyond the defaults (the config's
    # directory); the launcher always hides the working directory, home and state directory.
    private_paths: tuple[str, ...] = ()

    @field_validator("session_name", mode="before")
    @classmethod
    def _session_name(cls, value: object) -> object:
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            raise InvalidArgumentError(f"invalid session name {value!r}: use {NAME_RULE}")
        return value

    @field_validator("launch_method", mode="before")
    @classmethod
    def _launch_method(cls, value: object) -> object:
        if value not in ("python", "docker"):
            raise InvalidArgumentError(f"launch_method must be 'python' or 'docker', got {value!r}")
        return value

    @field_validator("auth_type", mode="before")
    @classmethod
    def _auth_type(cls, value: object) -> AuthType:
        auth = AuthType.parse(value)
        if auth is None or not auth.launchable:
            raise InvalidArgumentError(
                f"auth_type {value!r} is not supported for launched sessions; "
                "use 'PSK' or 'Anonymous'"
            )
        return auth

    @field_validator("auth_token", mode="before")
    @classmethod
    def _auth_token(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("auth_type") is AuthType.ANONYMOUS:
            raise InvalidArgumentError("auth_token is only used with PSK authentication")
        return validate_token(value)

    @field_validator("heap_size_gb", mode="before")
    @classmethod
    def _heap_size_gb(cls, value: Any) -> Any:
        heap_jvm_arg(value)
        return value

    @field_validator("extra_jvm_args", mode="before")
    @classmethod
    def _extra_jvm_args(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise InvalidArgumentError("extra_jvm_args entries must be non-empty strings")
        args = tuple(value)
        _check_jvm_args(args)
        return args

    @field_validator("environment_vars", mode="wrap")
    @classmethod
    def _environment_vars(
        cls, value: Mapping[str, str], handler: ValidatorFunctionWrapHandler
    ) -> Mapping[str, str]:
        env = dict(value)
        _check_environment(env)
        return MappingProxyType(handler(env))

    @field_serializer("environment_vars")
    def _plain_environment(self, value: Mapping[str, str]) -> dict[str, str]:
        return dict(value)

    @field_validator("python_venv_path", mode="before")
    @classmethod
    def _python_venv_path(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidArgumentError("python_venv_path must not be empty")
        return value

    @field_validator("init_script", mode="before")
    @classmethod
    def _init_script(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError("init_script must be Python (or Groovy) source text")
        return value

    @field_validator("programming_language", mode="before")
    @classmethod
    def _programming_language(cls, value: object) -> object:
        if value not in ("Python", "Groovy"):
            raise InvalidArgumentError("programming_language must be 'Python' or 'Groovy'")
        return value

    @field_validator("docker_image", mode="before")
    @classmethod
    def _docker_image(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError("docker_image must be a non-empty image reference")
        if any(c.isspace() for c in value):
            raise InvalidArgumentError(f"docker_image {value!r} contains spaces")
        return value

    @field_validator(
        "docker_memory_limit_gb",
        "docker_cpu_limit",
        "startup_timeout_seconds",
        "startup_check_interval_seconds",
        mode="before",
    )
    @classmethod
    def _positive_number(cls, value: Any, info: ValidationInfo) -> Any:
        name = str(info.field_name)
        _positive(name, value, allow_none=name.startswith("docker_"))
        return value

    @field_validator("docker_volumes", mode="before")
    @classmethod
    def _docker_volumes(cls, value: Iterable[str]) -> tuple[str, ...]:
        volumes = tuple(value)
        for volume in volumes:
            parse_volume(volume)
        return volumes

    @field_validator("startup_retries", mode="before")
    @classmethod
    def _startup_retries(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise InvalidArgumentError("startup_retries must be an integer from 0 to 10")
        return value

    @field_validator("host", mode="before")
    @classmethod
    def _host(cls, value: object) -> object:
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise InvalidArgumentError(f"host {value!r} is not valid")
        return value

    @model_validator(mode="after")
    def _check_docker(self) -> LaunchRequest:
        if self.launch_method != "docker":
            return self
        try:
            ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            raise InvalidArgumentError(
                f"host {self.host!r}: docker publishes ports on an IP address, e.g. 127.0.0.1"
            ) from None
        limit = self.docker_memory_limit_gb
        if limit is not None and self.heap_size_gb >= limit:
            raise InvalidArgumentError(
                f"heap_size_gb ({self.heap_size_gb}) must be below docker_memory_limit_gb "
                f"({limit}); the JVM needs memory beyond its heap"
            )
        return self

    @property
    def heap_arg(self) -> str:
        """The JVM's heap argument (``-Xmx...``)."""
        return heap_jvm_arg(self.heap_size_gb)

    @property
    def volume_mounts(self) -> tuple[VolumeMount, ...]:
        """``docker_volumes`` parsed."""
        return tuple(parse_volume(volume) for volume in self.docker_volumes)

    @property
    def connect_host(self) -> str:
        """Where clients connect: a wildcard bind address is reached through loopback."""
        return "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host

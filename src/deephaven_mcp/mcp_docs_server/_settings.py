"""Docs server settings, read once from the environment.

Both providers speak the OpenAI chat-completions protocol, so each one is only a key, a
base URL and a model name; pointing a base URL at any compatible server (a local one
included) swaps the backend without code changes. Keys and the bearer token are
registered for log redaction the moment they are read.

HTTP exposure (Host/Origin allow-lists, optional bearer token) uses the same
:class:`HttpSecurity` model as the systems server, filled from ``DOCS_*`` variables
instead of a config file, and is resolved once so a bad token fails at startup.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from deephaven_mcp._http_security import HttpExposure
from deephaven_mcp._logging import register_secret
from deephaven_mcp.config.models import BearerAuthConfig, HttpSecurity
from deephaven_mcp.errors import ConfigError

DEFAULT_INKEEP_BASE_URL: Final = "https://api.inkeep.com/v1"
DEFAULT_INKEEP_MODEL: Final = "inkeep-context-expert"
DEFAULT_OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL: Final = "gpt-4o"
DEFAULT_REQUEST_TIMEOUT: Final = 120.0
DEFAULT_MAX_RETRIES: Final = 1

DEFAULT_MAX_CONCURRENT_CHATS: Final = 32
DEFAULT_QUEUE_TIMEOUT: Final = 10.0

MAX_REQUEST_TIMEOUT: Final = 900.0
MAX_RETRIES_LIMIT: Final = 5
MAX_CONCURRENT_CHATS_LIMIT: Final = 1024
MAX_QUEUE_TIMEOUT: Final = 300.0

AUTH_ENV_VAR: Final = "DOCS_AUTH_TOKEN"
# Which environment variable fills which HttpSecurity field, for error messages.
_HTTP_FIELD_ENV: Final = {
    "allowed_hosts": "DOCS_ALLOWED_HOSTS",
    "allowed_origins": "DOCS_ALLOWED_ORIGINS",
    "auth": AUTH_ENV_VAR,
}


@dataclass(frozen=True)
class ProviderSettings:
    """One OpenAI-compatible chat endpoint. The key never appears in ``repr``."""

    name: str
    key_env: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_OPENAI_BASE_URL
    model: str = DEFAULT_OPENAI_MODEL

    def __post_init__(self) -> None:
        register_secret(self.api_key)

    @property
    def configured(self) -> bool:
        """A provider is only tried when it has a key."""
        return bool(self.api_key)


@dataclass(frozen=True)
class DocsSettings:
    """Everything the docs server needs; build with :meth:`from_env` or directly in tests.

    ``request_timeout`` bounds each provider attempt as a whole (retries included), so a
    slow primary cannot eat the fallback's time indefinitely. At most
    ``max_concurrent_chats`` questions reach the providers at once; others wait up to
    ``queue_timeout`` seconds for a slot, so a burst cannot run up the provider bill or
    exhaust connections. ``exposure`` is the HTTP guard and auth, already resolved (the
    default: loopback only, no token).
    """

    inkeep: ProviderSettings = field(
        default_factory=lambda: ProviderSettings(
            "Inkeep", "INKEEP_API_KEY", None, DEFAULT_INKEEP_BASE_URL, DEFAULT_INKEEP_MODEL
        )
    )
    openai: ProviderSettings = field(
        default_factory=lambda: ProviderSettings(
            "OpenAI", "OPENAI_API_KEY", None, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_MODEL
        )
    )
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_concurrent_chats: int = DEFAULT_MAX_CONCURRENT_CHATS
    queue_timeout: float = DEFAULT_QUEUE_TIMEOUT
    exposure: HttpExposure = field(default_factory=HttpExposure, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not math.isfinite(self.request_timeout) or not (
            0 < self.request_timeout <= MAX_REQUEST_TIMEOUT
        ):
            raise ConfigError(
                f"DOCS_REQUEST_TIMEOUT must be between 0 and {MAX_REQUEST_TIMEOUT:g} seconds."
            )
        if not 0 <= self.max_retries <= MAX_RETRIES_LIMIT:
            raise ConfigError(f"DOCS_MAX_RETRIES must be between 0 and {MAX_RETRIES_LIMIT}.")
        if not 1 <= self.max_concurrent_chats <= MAX_CONCURRENT_CHATS_LIMIT:
            raise ConfigError(
                f"DOCS_MAX_CONCURRENT_CHATS must be between 1 and {MAX_CONCURRENT_CHATS_LIMIT}."
            )
        if not math.isfinite(self.queue_timeout) or not (
            0 <= self.queue_timeout <= MAX_QUEUE_TIMEOUT
        ):
            raise ConfigError(
                f"DOCS_QUEUE_TIMEOUT must be between 0 and {MAX_QUEUE_TIMEOUT:g} seconds."
            )

    @property
    def providers(self) -> tuple[ProviderSettings, ...]:
        """Providers in the order they are tried: Inkeep first, OpenAI as the fallback."""
        return (self.inkeep, self.openai)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DocsSettings:
        """Read the settings from ``env`` (default: ``os.environ``).

        Raises :class:`ConfigError` for malformed numbers, host or origin lists, or a
        token that is too short; a missing provider key is not an error, because the
        server must still start and explain the problem through the tool.
        """
        source = os.environ if env is None else env
        # Resolved against the same mapping, so a bad token fails here, at startup.
        exposure = HttpExposure.from_security(http_security_from_env(source), source, where="")

        def text(name: str, default: str) -> str:
            value = source.get(name, "").strip()
            return value or default

        def key(name: str) -> str | None:
            value = source.get(name, "").strip()
            register_secret(value)
            return value or None

        return cls(
            inkeep=ProviderSettings(
                "Inkeep",
                "INKEEP_API_KEY",
                key("INKEEP_API_KEY"),
                text("INKEEP_BASE_URL", DEFAULT_INKEEP_BASE_URL),
                text("INKEEP_MODEL", DEFAULT_INKEEP_MODEL),
            ),
            openai=ProviderSettings(
                "OpenAI",
                "OPENAI_API_KEY",
                key("OPENAI_API_KEY"),
                text("OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL),
                text("OPENAI_MODEL", DEFAULT_OPENAI_MODEL),
            ),
            request_timeout=_number(source, "DOCS_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT),
            max_retries=int(_number(source, "DOCS_MAX_RETRIES", DEFAULT_MAX_RETRIES, whole=True)),
            max_concurrent_chats=int(
                _number(
                    source, "DOCS_MAX_CONCURRENT_CHATS", DEFAULT_MAX_CONCURRENT_CHATS, whole=True
                )
            ),
            queue_timeout=_number(source, "DOCS_QUEUE_TIMEOUT", DEFAULT_QUEUE_TIMEOUT),
            exposure=exposure,
        )


def http_security_from_env(source: Mapping[str, str]) -> HttpSecurity:
    """The HTTP exposure the ``DOCS_*`` variables describe; raises ConfigError naming one."""
    token = source.get(AUTH_ENV_VAR, "").strip()
    register_secret(token)
    try:
        return HttpSecurity(
            allowed_hosts=_list(source, "DOCS_ALLOWED_HOSTS"),
            allowed_origins=_list(source, "DOCS_ALLOWED_ORIGINS"),
            auth=BearerAuthConfig(type="bearer", token_env_var=AUTH_ENV_VAR) if token else None,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = error["loc"][0] if error["loc"] else ""
        name = _HTTP_FIELD_ENV.get(str(where), "DOCS_ALLOWED_*")
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None


def _list(source: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in source.get(name, "").split(",") if item.strip()]


def _number(source: Mapping[str, str], name: str, default: float, *, whole: bool = False) -> float:
    raw = source.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number of seconds"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}.") from None

"""Docs server settings, read once from the environment.

Both providers speak the OpenAI chat-completions protocol, so each one is only a key, a
base URL and a model name; pointing a base URL at any compatible server (a local one
included) swaps the backend without code changes. Keys and the bearer token are
registered for log redaction the moment they are read.

HTTP exposure (Host/Origin allow-lists, optional bearer token) uses the same
:class:`HttpSecurity` model as the systems server, filled from ``DOCS_*`` variables
instead of a config file, and is resolved when the settings are built, so a bad token
fails at startup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Final

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import NoDecode

from deephaven_mcp.config.env import EnvSettings, LogLevel
from deephaven_mcp.config.models import BearerAuthConfig, HttpSecurity
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.runtime.logging import register_secret
from deephaven_mcp.serving.http_security import HttpExposure

DEFAULT_INKEEP_BASE_URL: Final = "https://api.inkeep.com/v1"
DEFAULT_INKEEP_MODEL: Final = "inkeep-context-expert"
DEFAULT_OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL: Final = "gpt-4o"
DEFAULT_PORT: Final = 8001
AUTH_ENV_VAR: Final = "DOCS_AUTH_TOKEN"


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


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _secret(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        register_secret(value)
        return value or None
    return value


Text = Annotated[str, BeforeValidator(_strip), Field(min_length=1)]
Secret = Annotated[SecretStr | None, BeforeValidator(_secret)]
Names = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]


class DocsSettings(EnvSettings):
    """Everything the docs server needs; build with :meth:`from_env`.

    ``request_timeout`` bounds each provider attempt as a whole (retries included), so a
    slow primary cannot eat the fallback's time indefinitely. At most
    ``max_concurrent_chats`` questions reach the providers at once; others wait up to
    ``queue_timeout`` seconds for a slot, so a burst cannot run up the provider bill or
    exhaust connections. A missing provider key is not an error: the server still starts
    and the tool explains what to set.
    """

    inkeep_api_key: Secret = Field(None, alias="INKEEP_API_KEY")
    inkeep_base_url: Text = Field(DEFAULT_INKEEP_BASE_URL, alias="INKEEP_BASE_URL")
    inkeep_model: Text = Field(DEFAULT_INKEEP_MODEL, alias="INKEEP_MODEL")
    openai_api_key: Secret = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: Text = Field(DEFAULT_OPENAI_BASE_URL, alias="OPENAI_BASE_URL")
    openai_model: Text = Field(DEFAULT_OPENAI_MODEL, alias="OPENAI_MODEL")
    request_timeout: float = Field(
        120.0, gt=0, le=900, allow_inf_nan=False, alias="DOCS_REQUEST_TIMEOUT"
    )
    max_retries: int = Field(1, ge=0, le=5, alias="DOCS_MAX_RETRIES")
    max_concurrent_chats: int = Field(32, ge=1, le=1024, alias="DOCS_MAX_CONCURRENT_CHATS")
    queue_timeout: float = Field(
        10.0, ge=0, le=300, allow_inf_nan=False, alias="DOCS_QUEUE_TIMEOUT"
    )
    auth_token: Secret = Field(None, alias=AUTH_ENV_VAR)
    allowed_hosts: Names = Field([], alias="DOCS_ALLOWED_HOSTS")
    allowed_origins: Names = Field([], alias="DOCS_ALLOWED_ORIGINS")
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, alias="PORT")
    log_level: LogLevel = Field("INFO", alias="PYTHONLOGLEVEL")

    _exposure: HttpExposure = PrivateAttr(default_factory=HttpExposure)

    @model_validator(mode="after")
    def _resolve_exposure(self) -> DocsSettings:
        token = self.auth_token.get_secret_value() if self.auth_token else ""
        security = _http_security(self.allowed_hosts, self.allowed_origins, bool(token))
        self._exposure = HttpExposure.from_security(security, {AUTH_ENV_VAR: token}, where="")
        return self

    @property
    def exposure(self) -> HttpExposure:
        """The HTTP guard lists and the auth provider (loopback only, no token by default)."""
        return self._exposure

    def _provider(self, name: str) -> ProviderSettings:
        """``name``'s endpoint from its ``<name>_api_key``, ``_base_url`` and ``_model``
        fields; the key's variable is named after the field's alias."""
        prefix = name.lower()
        key_field = f"{prefix}_api_key"
        return ProviderSettings(
            name,
            str(type(self).model_fields[key_field].alias),
            _reveal(getattr(self, key_field)),
            getattr(self, f"{prefix}_base_url"),
            getattr(self, f"{prefix}_model"),
        )

    @property
    def inkeep(self) -> ProviderSettings:
        """The primary provider (``INKEEP_*`` variables)."""
        return self._provider("Inkeep")

    @property
    def openai(self) -> ProviderSettings:
        """The fallback provider (``OPENAI_*`` variables)."""
        return self._provider("OpenAI")

    @property
    def providers(self) -> tuple[ProviderSettings, ...]:
        """Providers in the order they are tried: Inkeep first, OpenAI as the fallback."""
        return (self.inkeep, self.openai)


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _http_security(hosts: list[str], origins: list[str], has_token: bool) -> HttpSecurity:
    auth = BearerAuthConfig(type="bearer", token_env_var=AUTH_ENV_VAR) if has_token else None
    try:
        return HttpSecurity(allowed_hosts=hosts, allowed_origins=origins, auth=auth)
    except ValidationError as exc:
        error = exc.errors(include_input=False)[0]
        variable = {"allowed_hosts": "DOCS_ALLOWED_HOSTS"}.get(
            str(error["loc"][0]), "DOCS_ALLOWED_ORIGINS"
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {message}") from None

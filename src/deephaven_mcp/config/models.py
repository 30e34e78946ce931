"""Pydantic models for ``deephaven_mcp.json`` (JSON or JSON5).

Every model forbids unknown keys and uses strict scalar types, so a typo or a wrong type
fails loudly with the exact path (see :mod:`deephaven_mcp.config.errors`). Secrets are
``SecretStr`` so they never render in reprs, logs or error messages.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

PSK_HANDLER: Final = "io.deephaven.authentication.psk.PskAuthenticationHandler"
ANONYMOUS: Final = "Anonymous"
BASIC: Final = "Basic"
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
NAME_RULE: Final = "1-64 ASCII letters, digits, '_', '.' or '-', not starting with '.' or '-'"

Port = Annotated[StrictInt, Field(ge=1, le=65535)]
Seconds = Annotated[StrictInt | StrictFloat, Field(gt=0)]
HeapGb = Annotated[StrictInt | StrictFloat, Field(gt=0, le=1024)]


def normalize_community_auth_type(value: str) -> str:
    """Map the accepted spellings to what pydeephaven expects ("PSK" -> the handler class)."""
    lowered = value.strip().lower()
    if lowered in ("psk", PSK_HANDLER.lower()):
        return PSK_HANDLER
    if lowered == "anonymous":
        return ANONYMOUS
    if lowered == "basic":
        return BASIC
    return value.strip()


def check_name(kind: str, name: str) -> str:
    """Validate a session or system name used inside session ids."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"invalid {kind} name {name!r}: use {NAME_RULE}")
    return name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def _exclusive(model: BaseModel, first: str, second: str) -> None:
    if getattr(model, first) is not None and getattr(model, second) is not None:
        raise ValueError(f"set either '{first}' or '{second}', not both")


class CommunitySessionConfig(_Model):
    """A pre-existing Community Core worker the server connects to."""

    host: StrictStr = "localhost"
    port: Port = 10000
    auth_type: StrictStr = ANONYMOUS
    auth_token: SecretStr | None = None
    auth_token_env_var: StrictStr | None = None
    never_timeout: StrictBool = True
    session_type: Literal["python", "groovy"] = "python"
    use_tls: StrictBool = False
    tls_root_certs: StrictStr | None = None
    client_cert_chain: StrictStr | None = None
    client_private_key: StrictStr | None = None

    @field_validator("auth_type")
    @classmethod
    def _normalize_auth(cls, value: str) -> str:
        return normalize_community_auth_type(value)

    @field_validator("session_type", mode="before")
    @classmethod
    def _lower_session_type(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> CommunitySessionConfig:
        _exclusive(self, "auth_token", "auth_token_env_var")
        if (self.client_cert_chain is None) != (self.client_private_key is None):
            raise ValueError("mTLS needs both 'client_cert_chain' and 'client_private_key'")
        return self


class SessionCreationDefaults(_Model):
    """Defaults for ``session_community_create``; tool arguments override them."""

    launch_method: Literal["docker", "python"] | None = None
    programming_language: Literal["Python", "Groovy"] | None = None
    auth_type: StrictStr | None = None
    auth_token: SecretStr | None = None
    auth_token_env_var: StrictStr | None = None
    docker_image: StrictStr | None = None
    docker_memory_limit_gb: Annotated[StrictInt | StrictFloat, Field(gt=0)] | None = None
    docker_cpu_limit: Annotated[StrictInt | StrictFloat, Field(gt=0)] | None = None
    docker_volumes: list[StrictStr] | None = None
    python_venv_path: StrictStr | None = None
    heap_size_gb: HeapGb | None = None
    extra_jvm_args: list[StrictStr] | None = None
    environment_vars: dict[str, StrictStr] | None = None
    startup_timeout_seconds: Seconds | None = None
    startup_check_interval_seconds: Seconds | None = None
    startup_retries: Annotated[StrictInt, Field(ge=0, le=10)] | None = None

    @field_validator("programming_language", mode="before")
    @classmethod
    def _title_language(cls, value: Any) -> Any:
        return value.strip().capitalize() if isinstance(value, str) else value

    @field_validator("auth_type")
    @classmethod
    def _dynamic_auth(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalized = normalize_community_auth_type(value)
        if normalized not in (PSK_HANDLER, ANONYMOUS):
            raise ValueError("dynamic sessions support only 'PSK' or 'Anonymous' authentication")
        return normalized

    @model_validator(mode="after")
    def _check(self) -> SessionCreationDefaults:
        _exclusive(self, "auth_token", "auth_token_env_var")
        _exclusive(self, "programming_language", "docker_image")
        return self


class SessionCreationConfig(_Model):
    """Enables on-demand community sessions."""

    max_concurrent_sessions: Annotated[StrictInt, Field(ge=0, le=64)] = 5
    defaults: SessionCreationDefaults = SessionCreationDefaults()


class CommunityConfig(_Model):
    sessions: dict[str, CommunitySessionConfig] = {}
    session_creation: SessionCreationConfig | None = None

    @field_validator("sessions")
    @classmethod
    def _names(cls, value: dict[str, CommunitySessionConfig]) -> dict[str, CommunitySessionConfig]:
        for name in value:
            check_name("session", name)
        return value


class EnterpriseCreationDefaults(_Model):
    """Defaults for ``session_enterprise_create`` on one enterprise system."""

    heap_size_gb: HeapGb | None = None
    programming_language: Literal["Python", "Groovy"] | None = None
    auto_delete_timeout: Annotated[StrictInt, Field(ge=0)] | None = None
    server: StrictStr | None = None
    engine: StrictStr | None = None
    extra_jvm_args: list[StrictStr] | None = None
    extra_environment_vars: list[StrictStr] | None = None
    admin_groups: list[StrictStr] | None = None
    viewer_groups: list[StrictStr] | None = None
    timeout_seconds: Seconds | None = None
    session_arguments: dict[str, Any] | None = None

    @field_validator("programming_language", mode="before")
    @classmethod
    def _title_language(cls, value: Any) -> Any:
        return value.strip().capitalize() if isinstance(value, str) else value


class EnterpriseSessionCreation(_Model):
    max_concurrent_sessions: Annotated[StrictInt, Field(ge=0, le=64)] = 5
    defaults: EnterpriseCreationDefaults = EnterpriseCreationDefaults()


# Keys that are valid for one auth type but ignored (with a warning) for the other.
PASSWORD_KEYS: Final = frozenset({"username", "password", "password_env_var"})
PRIVATE_KEY_KEYS: Final = frozenset({"private_key_path"})


class EnterpriseSystemConfig(_Model):
    """A Deephaven Enterprise (Core+) system reached through its connection.json URL."""

    connection_json_url: StrictStr
    auth_type: Literal["password", "private_key"]
    username: StrictStr | None = None
    password: SecretStr | None = None
    password_env_var: StrictStr | None = None
    private_key_path: StrictStr | None = None
    connection_timeout: Seconds = 10.0
    session_creation: EnterpriseSessionCreation | None = None

    @field_validator("connection_json_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL to connection.json")
        return value

    @model_validator(mode="after")
    def _check(self) -> EnterpriseSystemConfig:
        if self.auth_type == "password":
            if not self.username:
                raise ValueError("auth_type 'password' needs 'username'")
            _exclusive(self, "password", "password_env_var")
            if self.password is None and self.password_env_var is None:
                raise ValueError("auth_type 'password' needs 'password' or 'password_env_var'")
        elif not self.private_key_path:
            raise ValueError("auth_type 'private_key' needs 'private_key_path'")
        return self

    def ignored_keys(self) -> list[str]:
        """Keys set in the file that the chosen auth_type does not use."""
        unused = PRIVATE_KEY_KEYS if self.auth_type == "password" else PASSWORD_KEYS
        return sorted(key for key in unused if getattr(self, key) is not None)


class EnterpriseConfig(_Model):
    systems: dict[str, EnterpriseSystemConfig] = {}

    @field_validator("systems")
    @classmethod
    def _names(cls, value: dict[str, EnterpriseSystemConfig]) -> dict[str, EnterpriseSystemConfig]:
        for name in value:
            check_name("system", name)
        return value


CredentialRetrievalMode = Literal["none", "dynamic_only", "static_only", "all"]


class CommunitySecurity(_Model):
    credential_retrieval_mode: CredentialRetrievalMode = "none"


class SecurityConfig(_Model):
    community: CommunitySecurity = CommunitySecurity()


class McpConfig(_Model):
    """The whole configuration file."""

    community: CommunityConfig = CommunityConfig()
    enterprise: EnterpriseConfig = EnterpriseConfig()
    security: SecurityConfig = SecurityConfig()

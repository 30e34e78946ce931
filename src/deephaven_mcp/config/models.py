"""Pydantic models for ``deephaven_mcp.json`` (JSON or JSON5).

Every model forbids unknown keys and uses strict scalar types, so a typo or a wrong type
fails loudly with the exact path (:func:`deephaven_mcp.config.loader.format_validation_error`
words it). Secrets are
``SecretStr`` so they never render in reprs, logs or error messages.
:class:`CommunityEndpoint` also describes workers this server launches, so a community
connection has one model from the file to the pydeephaven arguments.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Final, Literal, NamedTuple
from urllib.parse import quote

from pydantic import (
    AfterValidator,
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

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.config.env import environment_value
from deephaven_mcp.config.systems_tools import SYSTEMS_TOOL_NAMES
from deephaven_mcp.errors import DeephavenMcpError, SessionUnavailableError
from deephaven_mcp.runtime.logging import register_secret

NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
NAME_RULE: Final = "1-64 ASCII letters, digits, '_', '.' or '-', not starting with '.' or '-'"

Port = Annotated[StrictInt, Field(ge=1, le=65535)]
Seconds = Annotated[StrictInt | StrictFloat, Field(gt=0)]
HeapGb = Annotated[StrictInt | StrictFloat, Field(gt=0, le=1024)]


# What an id 'enterprise:<system>:<name>' can carry: printable ASCII but ':'.
ENTERPRISE_SESSION_NAME: Final = re.compile(r"^[\x20-\x39\x3b-\x7e]{1,128}$")


def pq_session_name(name: str, serial: int) -> str:
    """A persistent query's name in its session id: its name when an id can carry it, else
    its serial (names with ':' or non-ASCII text are legal on the server)."""
    return name if ENTERPRISE_SESSION_NAME.match(name) else str(serial)


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


def secret_from_env(variable: str, setting: str, error: type[DeephavenMcpError]) -> str:
    """A secret read from ``variable`` (named by the ``setting`` key), registered for
    redaction; raises ``error`` when it is unset or empty."""
    value = environment_value(variable)
    if not value:
        raise error(f"environment variable {variable} ({setting}) is not set")
    register_secret(value)
    return value


class TlsFiles(NamedTuple):
    """PEM contents read from a :class:`CommunityEndpoint`'s file paths at connect time."""

    root_certs: bytes | None = None
    cert_chain: bytes | None = None
    private_key: bytes | None = None


class CommunityEndpoint(_Model):
    """Where and how to reach a Community Core worker: a session from the config file, or a
    worker this server launched. The one place that builds pydeephaven arguments and URLs.

    The token is resolved at connect time, so an ``auth_token_env_var`` may be set later.
    """

    host: StrictStr = "localhost"
    port: Port = 10000
    auth_type: AuthType = AuthType.ANONYMOUS
    auth_token: SecretStr | None = None
    auth_token_env_var: StrictStr | None = None
    never_timeout: StrictBool = True
    session_type: Literal["python", "groovy"] = "python"
    use_tls: StrictBool = False
    tls_root_certs: StrictStr | None = None
    client_cert_chain: StrictStr | None = None
    client_private_key: StrictStr | None = None

    @field_validator("session_type", mode="before")
    @classmethod
    def _lower_session_type(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> CommunityEndpoint:
        _exclusive(self, "auth_token", "auth_token_env_var")
        if (self.client_cert_chain is None) != (self.client_private_key is None):
            raise ValueError("mTLS needs both 'client_cert_chain' and 'client_private_key'")
        return self

    @property
    def tls(self) -> bool:
        """Root certificates imply TLS, for the connection and the URLs alike."""
        return self.use_tls or self.tls_root_certs is not None

    @property
    def base_url(self) -> str:
        """``http(s)://host:port`` of the worker, with an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def browser_url(self) -> str:
        """The web IDE, already authenticated for PSK (the token is URL-escaped)."""
        token = self.resolve_token()
        if self.auth_type is AuthType.PSK and token:
            return f"{self.base_url}/?psk={quote(token, safe='')}"
        return f"{self.base_url}/"

    def resolve_token(self) -> str:
        """The token from the config or its environment variable ('' when anonymous)."""
        if self.auth_type is AuthType.ANONYMOUS:
            return ""
        if self.auth_token_env_var:
            return secret_from_env(
                self.auth_token_env_var, "auth_token_env_var", SessionUnavailableError
            )
        return self.auth_token.get_secret_value() if self.auth_token else ""

    def session_kwargs(self, tls_files: TlsFiles | None = None) -> dict[str, Any]:
        """Keyword arguments for ``pydeephaven.Session`` (the token resolved now)."""
        files = tls_files or TlsFiles()
        return {
            "host": self.host,
            "port": self.port,
            "auth_type": self.auth_type.client,
            "auth_token": self.resolve_token(),
            "never_timeout": self.never_timeout,
            "session_type": self.session_type,
            "use_tls": self.tls,
            "tls_root_certs": files.root_certs,
            "client_cert_chain": files.cert_chain,
            "client_private_key": files.private_key,
        }


SandboxMode = Literal["auto", "required", "off"]
"""How python-launched workers are isolated from the server: ``auto`` sandboxes them when
the sandbox tool is installed (one warning at start when it is not), ``required`` refuses
to launch without it, ``off`` runs them as plain child processes."""


class SessionCreationDefaults(_Model):
    """Defaults for ``session_community_create``; tool arguments override them."""

    launch_method: Literal["docker", "python"] | None = None
    programming_language: Literal["Python", "Groovy"] | None = None
    auth_type: AuthType | None = None
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
    # Operator-only (never a tool argument): how python-launched workers are isolated.
    sandbox: SandboxMode | None = None

    @field_validator("programming_language", mode="before")
    @classmethod
    def _title_language(cls, value: Any) -> Any:
        return value.strip().capitalize() if isinstance(value, str) else value

    @field_validator("auth_type")
    @classmethod
    def _dynamic_auth(cls, value: AuthType | None) -> AuthType | None:
        if value is not None and not value.launchable:
            raise ValueError("dynamic sessions support only 'PSK' or 'Anonymous' authentication")
        return value

    @model_validator(mode="after")
    def _check(self) -> SessionCreationDefaults:
        _exclusive(self, "auth_token", "auth_token_env_var")
        _exclusive(self, "programming_language", "docker_image")
        return self


AgentSettable = Literal[
    "launch_method",
    "auth_type",
    "auth_token",
    "docker_image",
    "docker_volumes",
    "docker_memory_limit_gb",
    "docker_cpu_limit",
    "python_venv_path",
    "extra_jvm_args",
    "environment_vars",
]
"""``session_community_create`` arguments an agent may set only when the operator lists them
in ``agent_may_set``; ``session_name``, ``programming_language`` and ``heap_size_gb`` (up to
``max_heap_size_gb``) are always the agent's to choose."""

DEFAULT_MAX_AGENT_HEAP_GB: Final = 8


class SessionCreationConfig(_Model):
    """Enables on-demand community sessions, and what an agent may choose for them."""

    max_concurrent_sessions: Annotated[StrictInt, Field(ge=0, le=64)] = 5
    defaults: SessionCreationDefaults = SessionCreationDefaults()
    agent_may_set: list[AgentSettable] = []
    max_heap_size_gb: HeapGb = DEFAULT_MAX_AGENT_HEAP_GB


def _keys_named(kind: str) -> AfterValidator:
    """Check every key of a mapping as a ``kind`` name (they end up inside session ids)."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_name(kind, name)
        return value

    return AfterValidator(check)


class CommunityConfig(_Model):
    """The ``community`` section: configured sessions and on-demand worker creation."""

    sessions: Annotated[dict[str, CommunityEndpoint], _keys_named("session")] = {}
    session_creation: SessionCreationConfig | None = None


class EnterpriseCreationDefaults(_Model):
    """Defaults for ``session_enterprise_create`` on one enterprise system."""

    heap_size_gb: HeapGb | None = None
    programming_language: Literal["Python", "Groovy"] | None = None
    auto_delete_timeout: Annotated[StrictInt, Field(ge=0)] | None = None
    server: StrictStr | None = None
    engine: StrictStr | None = None
    extra_jvm_args: list[StrictStr] | None = None
    extra_environment_vars: dict[str, StrictStr] | list[StrictStr] | None = None
    admin_groups: list[StrictStr] | None = None
    viewer_groups: list[StrictStr] | None = None
    timeout_seconds: Seconds | None = None
    session_arguments: dict[str, Any] | None = None

    @field_validator("programming_language", mode="before")
    @classmethod
    def _title_language(cls, value: Any) -> Any:
        return value.strip().capitalize() if isinstance(value, str) else value


class EnterpriseSessionCreation(_Model):
    """``session_creation`` of one enterprise system: the worker limit and the defaults."""

    max_concurrent_sessions: Annotated[StrictInt, Field(ge=0, le=64)] = 5
    defaults: EnterpriseCreationDefaults = EnterpriseCreationDefaults()


EnterpriseAgentSettable = Literal[
    "auto_delete_timeout",
    "engine",
    "extra_jvm_args",
    "extra_environment_vars",
    "extra_class_path",
    "python_virtual_environment",
    "admin_groups",
    "viewer_groups",
    "session_arguments",
    "jvm_profile",
    "script_body",
    "script_path",
    "configuration_type",
    "enabled",
    "schedule",
    "init_timeout_seconds",
    "restart_users",
    "owner",
]
"""Parameters of ``session_enterprise_create``, ``pq_create`` and ``pq_modify`` that only the
operator sets unless ``agent_limits.agent_may_set`` lists them; the name, the language, a
heap within ``max_heap_size_gb`` and a server within ``allowed_servers`` are always the
agent's to choose."""


DEFAULT_MAX_PQ_BATCH_CONCURRENCY: Final = 16


class EnterpriseAgentLimits(_Model):
    """Bounds on what an agent may ask of one enterprise system (``session_enterprise_create``,
    ``pq_create``, ``pq_modify``); unset means the system's own limits apply."""

    max_heap_size_gb: HeapGb | None = None
    allowed_servers: list[StrictStr] | None = None
    agent_may_set: list[EnterpriseAgentSettable] = []
    # How many queries one pq_start/pq_stop/pq_restart/pq_delete call acts on at once.
    max_pq_batch_concurrency: Annotated[StrictInt, Field(ge=1, le=64)] = (
        DEFAULT_MAX_PQ_BATCH_CONCURRENCY
    )


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
    agent_limits: EnterpriseAgentLimits = EnterpriseAgentLimits()

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
    """The ``enterprise`` section: Core+ systems by name."""

    systems: Annotated[dict[str, EnterpriseSystemConfig], _keys_named("system")] = {}


CredentialRetrievalMode = Literal["none", "dynamic_only", "static_only", "all"]


class CommunitySecurity(_Model):
    """``security.community``: which sessions' credentials the agent may retrieve."""

    credential_retrieval_mode: CredentialRetrievalMode = "none"


# Asymmetric only: a shared HMAC secret would have to sit in the config file.
JwtAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]
ENV_VAR_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ORIGIN: Final = re.compile(r"^(\*|https?://[^/\s?#]+)$")
_HOST: Final = re.compile(r"^[^/\s?#@]+$")


class BearerAuthConfig(_Model):
    """One static bearer token, read from the environment variable ``token_env_var``."""

    type: Literal["bearer"]
    token_env_var: StrictStr

    @field_validator("token_env_var")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_VAR_NAME.match(value):
            raise ValueError("must be the name of an environment variable, not the token")
        return value


class JwtAuthConfig(_Model):
    """JWTs issued by an OAuth 2.1 authorization server, checked against a key or JWKS."""

    type: Literal["jwt"]
    jwks_uri: StrictStr | None = None
    public_key: StrictStr | None = None
    public_key_path: StrictStr | None = None
    algorithm: JwtAlgorithm = "RS256"
    issuer: StrictStr | list[StrictStr]
    audience: StrictStr | list[StrictStr]
    required_scopes: list[StrictStr] = []
    authorization_servers: list[StrictStr] = []
    base_url: StrictStr | None = None
    # Refuse tokens whose exp - iat (or exp - now, without iat) is longer than this.
    max_token_lifetime_seconds: Annotated[StrictInt, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> JwtAuthConfig:
        keys = [k for k in ("jwks_uri", "public_key", "public_key_path") if getattr(self, k)]
        if len(keys) != 1:
            raise ValueError("set exactly one of 'jwks_uri', 'public_key', 'public_key_path'")
        if self.jwks_uri and not re.match(r"^https?://[^/\s]+", self.jwks_uri):
            raise ValueError("'jwks_uri' must be an http(s) URL")
        for name in ("issuer", "audience"):
            if not getattr(self, name):
                raise ValueError(f"'{name}' must not be empty")
        if self.authorization_servers and not self.base_url:
            raise ValueError(
                "'authorization_servers' needs 'base_url' (this server's public URL) "
                "to publish protected-resource metadata"
            )
        for url in [*self.authorization_servers, *([self.base_url] if self.base_url else [])]:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return self


HttpAuthConfig = Annotated[BearerAuthConfig | JwtAuthConfig, Field(discriminator="type")]
AUTH_TYPES: Final = frozenset({"bearer", "jwt"})


class HttpSecurity(_Model):
    """Who may reach the HTTP transports (``sse``, ``streamable-http``).

    Loopback hosts are always allowed; ``allowed_hosts`` / ``allowed_origins`` widen that
    for a reverse proxy or a browser client. ``auth`` is required to bind beyond loopback.
    """

    allowed_hosts: list[StrictStr] = []
    allowed_origins: list[StrictStr] = []
    auth: HttpAuthConfig | None = None

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host name (no scheme or path)")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.match(origin.rstrip("/")):
                raise ValueError(f"{origin!r} is not an origin like 'https://app.example.com'")
        return value


class ToolPolicy(_Model):
    """Which tools the server registers: an allow-list or a deny-list, not both."""

    enabled: list[StrictStr] | None = None
    disabled: list[StrictStr] = []

    @model_validator(mode="after")
    def _check(self) -> ToolPolicy:
        if self.enabled is not None and self.disabled:
            raise ValueError("set either 'enabled' or 'disabled', not both")
        for key in ("enabled", "disabled"):
            unknown = sorted(set(getattr(self, key) or ()) - SYSTEMS_TOOL_NAMES)
            if unknown:
                raise ValueError(
                    f"security.tools.{key}: no tool named {', '.join(map(repr, unknown))}"
                )
        return self


class AuditConfig(_Model):
    """Where the audit stream goes besides stderr: ``path`` is appended to (created 0600)."""

    path: StrictStr | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isabs(os.path.expanduser(value)):
            raise ValueError(f"{value!r} is not an absolute file path")
        return value


class SecurityConfig(_Model):
    """The ``security`` section: HTTP access, audit log, read-only mode and tool policy."""

    community: CommunitySecurity = CommunitySecurity()
    http: HttpSecurity = HttpSecurity()
    audit: AuditConfig = AuditConfig()
    read_only: StrictBool = False
    tools: ToolPolicy = ToolPolicy()
    script_path_roots: list[StrictStr] = []

    @field_validator("script_path_roots")
    @classmethod
    def _absolute_roots(cls, value: list[str]) -> list[str]:
        for root in value:
            if not os.path.isabs(root):
                raise ValueError(f"{root!r} is not an absolute directory path")
        return value


DEFAULT_MAX_RESPONSE_BYTES: Final = 50 * 1024 * 1024


class LimitsConfig(_Model):
    """How much one answer may hold: table data, catalog samples, aggregations alike.

    ``max_response_bytes`` caps the JSON of an answer's rows (reads stop as soon as it is
    passed). ``default_max_rows``, when set, is the number of rows a read returns when the
    caller does not say (otherwise 1000 for table data and aggregations, 100 for samples).
    """

    max_response_bytes: Annotated[StrictInt, Field(ge=1024, le=1024 * 1024 * 1024)] = (
        DEFAULT_MAX_RESPONSE_BYTES
    )
    default_max_rows: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None


class McpConfig(_Model):
    """The whole configuration file."""

    community: CommunityConfig = CommunityConfig()
    enterprise: EnterpriseConfig = EnterpriseConfig()
    security: SecurityConfig = SecurityConfig()
    limits: LimitsConfig = LimitsConfig()

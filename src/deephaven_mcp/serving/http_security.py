"""Serving an MCP server over HTTP without exposing it to every local page or process.

Both servers share this: a strict subclass of fastmcp's Host/Origin guard
(:mod:`deephaven_mcp.serving.http_guard`: one well-formed Host, exact origins, one Authorization
header), optional bearer-token or JWT authentication through fastmcp's auth providers
(JWTs with the time rules of :mod:`deephaven_mcp.serving.http_jwt`), and the rule that a server
bound beyond loopback must authenticate its callers unless the operator opts out by name.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fastmcp.server.auth import AccessToken, AuthProvider, RemoteAuthProvider, TokenVerifier
from pydantic import AnyHttpUrl
from starlette.middleware import Middleware

from deephaven_mcp.config.models import BearerAuthConfig, HttpSecurity, JwtAuthConfig
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.runtime.logging import register_secret
from deephaven_mcp.serving.http_guard import (
    WILDCARD,
    StrictHostOriginGuard,
    is_loopback_host,
    normalize_origin,
)

_log = logging.getLogger(__name__)

ALLOW_UNAUTHENTICATED_FLAG: Final = "--dangerously-allow-unauthenticated-network"
MIN_TOKEN_CHARS: Final = 16
MAX_PUBLIC_KEY_BYTES: Final = 64 * 1024
BEARER_CLIENT_ID: Final = "bearer-token"
CONFIG_KEY: Final = "security.http.auth"


class UnsafeBindError(ConfigError):
    """The server was asked to listen beyond loopback with no authentication."""


class StaticBearerVerifier(TokenVerifier):
    """Accepts exactly one shared token.

    Only a SHA-256 digest is kept, and digests are compared with
    :func:`hmac.compare_digest`, so the comparison takes the same time whatever the
    caller sends (length included).
    """

    def __init__(self, token: str, client_id: str = BEARER_CLIENT_ID) -> None:
        super().__init__()
        self._digest = hashlib.sha256(token.encode()).digest()
        self._client_id = client_id

    async def verify_token(self, token: str) -> AccessToken | None:
        """An access token for the shared token, None for anything else."""
        candidate = hashlib.sha256(token.encode()).digest()
        if not hmac.compare_digest(candidate, self._digest):
            return None
        return AccessToken(token=token, client_id=self._client_id, scopes=[])


def bearer_verifier(
    config: BearerAuthConfig, environ: Mapping[str, str], where: str = CONFIG_KEY
) -> StaticBearerVerifier:
    """``where`` prefixes messages: the config key here, nothing for an env-only server."""
    prefix = f"{where}: " if where else ""
    name = config.token_env_var
    token = environ.get(name, "").strip()
    if not token:
        raise ConfigError(f"{prefix}environment variable {name} is not set or empty")
    register_secret(token)
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"{prefix}the token in {name} is too short "
            f"(at least {MIN_TOKEN_CHARS} characters; try `python -c "
            f'"import secrets; print(secrets.token_urlsafe(32))"`)'
        )
    return StaticBearerVerifier(token)


def jwt_provider(config: JwtAuthConfig) -> AuthProvider:
    """A JWT verifier; with authorization servers, also the RFC 9728 metadata route."""
    # Imported here: the JOSE stack costs start-up time that servers without JWT never pay.
    from deephaven_mcp.serving.http_jwt import StrictJWTVerifier

    public_key = config.public_key
    if config.public_key_path:
        public_key = _read_public_key(config.public_key_path)
    try:
        verifier = StrictJWTVerifier(
            max_token_lifetime_seconds=config.max_token_lifetime_seconds,
            public_key=public_key,
            jwks_uri=config.jwks_uri,
            issuer=config.issuer,
            audience=config.audience,
            algorithm=config.algorithm,
            required_scopes=list(config.required_scopes) or None,
        )
    except ValueError as exc:
        raise ConfigError(f"security.http.auth: {exc}") from None
    if not config.authorization_servers:
        return verifier
    assert config.base_url is not None  # the model requires it with authorization_servers
    return RemoteAuthProvider(
        token_verifier=verifier,
        authorization_servers=[AnyHttpUrl(url) for url in config.authorization_servers],
        base_url=config.base_url,
        resource_name="Deephaven MCP",
    )


def _read_public_key(path: str) -> str:
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if size > MAX_PUBLIC_KEY_BYTES:
            raise ConfigError(f"security.http.auth.public_key_path: {path} is too large")
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"security.http.auth.public_key_path: cannot read {path}: {exc.strerror}"
        ) from None


def auth_provider(
    security: HttpSecurity, environ: Mapping[str, str] | None = None, where: str = CONFIG_KEY
) -> AuthProvider | None:
    """The provider ``security.auth`` describes, or None; raises ConfigError if unusable."""
    config = security.auth
    if config is None:
        return None
    if isinstance(config, BearerAuthConfig):
        return bearer_verifier(config, os.environ if environ is None else environ, where)
    return jwt_provider(config)


def check_bind(
    host: str, *, authenticated: bool, allow_unauthenticated: bool, how_to_authenticate: str
) -> None:
    """Refuse a non-loopback bind without auth, unless the operator opted out by name.

    ``how_to_authenticate`` tells the operator which setting turns authentication on.
    """
    if is_loopback_host(host) or authenticated:
        return
    if not allow_unauthenticated:
        raise UnsafeBindError(
            f"refusing to listen on {host} without authentication: anyone who can reach "
            f"this address could use the server. Turn authentication on "
            f"({how_to_authenticate}), bind to 127.0.0.1, or pass "
            f"{ALLOW_UNAUTHENTICATED_FLAG} if something in front of the server "
            "(a reverse proxy, a private network) already authenticates every request."
        )
    _log.warning(
        "SECURITY: listening on %s WITHOUT authentication (%s). Every client that can "
        "reach this address can call every tool.",
        host,
        ALLOW_UNAUTHENTICATED_FLAG,
    )


@dataclass(frozen=True)
class HttpExposure:
    """How one server is exposed over HTTP: guard lists plus the auth provider."""

    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    auth: AuthProvider | None = None

    @classmethod
    def from_security(
        cls,
        security: HttpSecurity,
        environ: Mapping[str, str] | None = None,
        where: str = CONFIG_KEY,
    ) -> HttpExposure:
        """What ``security.http`` asks for; a bearer token comes from ``environ`` or os.environ."""
        return cls(
            allowed_hosts=tuple(security.allowed_hosts),
            allowed_origins=tuple(security.allowed_origins),
            auth=auth_provider(security, environ, where),
        )

    def guard(self) -> Middleware:
        """The strict Host/Origin guard for these lists (rules in :mod:`.http_guard`)."""
        return Middleware(
            StrictHostOriginGuard,
            allowed_hosts=list(self.allowed_hosts),
            allowed_origins=list(self.allowed_origins),
        )

    def guard_options(self) -> dict[str, Any]:
        """Keyword arguments for ``FastMCP.run``/``http_app``: our guard instead of fastmcp's.

        fastmcp's own guard is off (``host_origin_protection=False``) because ours, its
        subclass, takes its place; two guards would be two allow-lists answering
        differently (fastmcp's 421 for ``evil:abc`` where ours says 400). Ours goes in
        through the public ``middleware`` option: fastmcp adds that after its
        request-context and authentication middleware, which only identify the caller
        (a bearer token is checked, nothing is refused), and before routing. So the
        guard answers 400/421/403 for every route, ``/health`` and auth metadata
        included, before the MCP route's ``RequireAuthMiddleware`` decides on a 401.
        Going in ahead of fastmcp's own middleware would mean building and serving the
        Starlette app ourselves instead of through ``FastMCP.run``.
        """
        return {"host_origin_protection": False, "middleware": [self.guard()]}

    def describe(self) -> str:
        """One line for the start-up log: auth kind and the allowed hosts and origins."""
        kind = "none" if self.auth is None else type(self.auth).__name__
        hosts = ", ".join(self.allowed_hosts) or "loopback only"
        origins = ", ".join(self.allowed_origins) or "this server's own loopback origin only"
        return f"auth={kind}; allowed hosts: {hosts}; allowed origins: {origins}"

    def unusable_origins(self) -> list[str]:
        """``allowed_origins`` entries that can never match: patterns other than ``*``."""
        return [
            entry
            for entry in self.allowed_origins
            if entry.strip().rstrip("/") != WILDCARD and normalize_origin(entry) is None
        ]

    def wildcards(self) -> list[str]:
        """Settings holding a bare ``*``, which switches that check off entirely."""
        lists = {"allowed_hosts": self.allowed_hosts, "allowed_origins": self.allowed_origins}
        return [
            name
            for name, entries in lists.items()
            if any(entry.strip().rstrip("/") == WILDCARD for entry in entries)
        ]


def serve_http(
    server: Any,
    transport: str,
    *,
    host: str,
    port: int,
    exposure: HttpExposure,
    **options: Any,
) -> None:
    """Run ``server`` over an HTTP transport behind the guard (blocking)."""
    _log.info("HTTP exposure on %s:%d: %s", host, port, exposure.describe())
    for name in exposure.wildcards():
        _log.warning(
            "SECURITY: %s contains '*', so that check is off; protection from DNS "
            "rebinding then rests on authentication or on what is in front of the server",
            name,
        )
    for entry in exposure.unusable_origins():
        _log.warning(
            "allowed_origins entry %r never matches: origins are compared exactly "
            "(scheme://host[:port]); only a bare '*' is a wildcard",
            entry,
        )
    server.run(
        transport,
        show_banner=False,
        host=host,
        port=port,
        # None: uvicorn keeps its hands off logging, so its records reach our stderr handler.
        uvicorn_config={"log_config": None},
        **exposure.guard_options(),
        **options,
    )

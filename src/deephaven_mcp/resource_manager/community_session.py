"""Community Core sessions: static ones from the config file (and the base for dynamic ones)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import aiofiles
from pydeephaven import Session

from deephaven_mcp._blocking import call_blocking
from deephaven_mcp._logging import register_secret
from deephaven_mcp.clients.community import ConnectionSpec, open_session
from deephaven_mcp.clients.timeouts import Timeouts
from deephaven_mcp.config.models import ANONYMOUS, CommunitySessionConfig
from deephaven_mcp.errors import SessionUnavailableError
from deephaven_mcp.resource_manager.managed_session import ManagedSession
from deephaven_mcp.resource_manager.session_id import CONFIG_SOURCE, SessionId

MAX_PEM_BYTES = 1_000_000


@dataclass(frozen=True)
class CommunityEndpoint:
    """Where and how to connect; the token is resolved at connect time."""

    host: str
    port: int
    auth_type: str = ANONYMOUS
    auth_token: str | None = field(default=None, repr=False)
    auth_token_env_var: str | None = None
    never_timeout: bool = True
    session_type: str = "python"
    use_tls: bool = False
    tls_root_certs: str | None = None
    client_cert_chain: str | None = None
    client_private_key: str | None = None

    @classmethod
    def from_config(cls, config: CommunitySessionConfig) -> CommunityEndpoint:
        return cls(
            host=config.host,
            port=config.port,
            auth_type=config.auth_type,
            auth_token=config.auth_token.get_secret_value() if config.auth_token else None,
            auth_token_env_var=config.auth_token_env_var,
            never_timeout=config.never_timeout,
            session_type=config.session_type,
            use_tls=config.use_tls,
            tls_root_certs=config.tls_root_certs,
            client_cert_chain=config.client_cert_chain,
            client_private_key=config.client_private_key,
        )

    def resolve_token(self) -> str:
        """The token from the config or its environment variable ('' when anonymous)."""
        if self.auth_type == ANONYMOUS:
            return ""
        if self.auth_token_env_var:
            token = os.environ.get(self.auth_token_env_var)
            if not token:
                variable = self.auth_token_env_var
                raise SessionUnavailableError(
                    f"environment variable {variable} (auth_token_env_var) is not set"
                )
            register_secret(token)
            return token
        return self.auth_token or ""

    @property
    def base_url(self) -> str:
        scheme = "https" if self.use_tls else "http"
        return f"{scheme}://{self.host}:{self.port}"


async def read_pem(path: str | None, what: str) -> bytes | None:
    """Read a certificate or key file without blocking the event loop."""
    if path is None:
        return None
    try:
        async with aiofiles.open(path, "rb") as handle:
            data = await handle.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise SessionUnavailableError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if len(data) > MAX_PEM_BYTES:
        raise SessionUnavailableError(f"{what} file {path} is too large to be a PEM file")
    return data


class CommunitySession(ManagedSession):
    """A Community Core worker reached over gRPC."""

    def __init__(self, session_id: SessionId, endpoint: CommunityEndpoint, timeouts: Timeouts):
        super().__init__(session_id, endpoint.session_type, timeouts)
        self.endpoint = endpoint

    @classmethod
    def from_config(
        cls, name: str, config: CommunitySessionConfig, timeouts: Timeouts
    ) -> CommunitySession:
        return cls(
            SessionId.community(CONFIG_SOURCE, name),
            CommunityEndpoint.from_config(config),
            timeouts,
        )

    async def _open(self) -> Session:
        endpoint = self.endpoint
        spec = ConnectionSpec(
            host=endpoint.host,
            port=endpoint.port,
            auth_type=endpoint.auth_type,
            auth_token=endpoint.resolve_token(),
            never_timeout=endpoint.never_timeout,
            session_type=endpoint.session_type,
            use_tls=endpoint.use_tls or endpoint.tls_root_certs is not None,
            tls_root_certs=await read_pem(endpoint.tls_root_certs, "tls_root_certs"),
            client_cert_chain=await read_pem(endpoint.client_cert_chain, "client_cert_chain"),
            client_private_key=await read_pem(endpoint.client_private_key, "client_private_key"),
        )
        return await call_blocking(
            f"Connecting to {endpoint.host}:{endpoint.port}",
            self.timeouts.connect,
            open_session,
            spec,
        )

    def extra_details(self) -> dict[str, Any]:
        return {"host": self.endpoint.host, "port": self.endpoint.port}

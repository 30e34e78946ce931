"""Community Core sessions: static ones from the config file (and the base for dynamic ones)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiofiles

from deephaven_mcp.config.models import CommunityEndpoint, TlsFiles
from deephaven_mcp.errors import SessionUnavailableError
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager.managed_session import ManagedSession
from deephaven_mcp.resource_manager.session_id import CONFIG_SOURCE, SessionId
from deephaven_mcp.runtime.blocking import call_blocking

if TYPE_CHECKING:
    from pydeephaven import Session

MAX_PEM_BYTES = 1_000_000


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


async def read_tls_files(endpoint: CommunityEndpoint) -> TlsFiles:
    """The endpoint's PEM files, read at each connect without blocking the event loop."""
    return TlsFiles(
        root_certs=await read_pem(endpoint.tls_root_certs, "tls_root_certs"),
        cert_chain=await read_pem(endpoint.client_cert_chain, "client_cert_chain"),
        private_key=await read_pem(endpoint.client_private_key, "client_private_key"),
    )


class CommunitySession(ManagedSession):
    """A Community Core worker reached over gRPC."""

    def __init__(self, session_id: SessionId, endpoint: CommunityEndpoint, timeouts: Timeouts):
        super().__init__(session_id, endpoint.session_type, timeouts)
        self.endpoint = endpoint

    @classmethod
    def from_config(
        cls, name: str, config: CommunityEndpoint, timeouts: Timeouts
    ) -> CommunitySession:
        """The session ``community:config:<name>`` of a config-file entry."""
        return cls(SessionId.community(CONFIG_SOURCE, name), config, timeouts)

    async def _open(self) -> Session:
        # The first connection loads pydeephaven (and pandas, pyarrow), not the server start.
        from deephaven_mcp.clients.community import open_session

        endpoint = self.endpoint
        tls_files = await read_tls_files(endpoint)
        return await call_blocking(
            f"Connecting to {endpoint.host}:{endpoint.port}",
            self.timeouts.connect,
            open_session,
            endpoint,
            tls_files,
        )

    def extra_details(self) -> dict[str, Any]:
        """Where the worker listens."""
        return {"host": self.endpoint.host, "port": self.endpoint.port}

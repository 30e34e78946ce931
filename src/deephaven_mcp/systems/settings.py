"""The systems server's environment settings (public: ``DeephavenSystems`` reads them too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Final

from pydantic import Field

from deephaven_mcp.config.env import EnvSettings, LogLevel
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.runtime.blocking import MAX_WORK_THREADS

DEFAULT_PORT: Final = 8000
# More calls per session than work threads would let one session take them all.
MAX_CALLS_PER_SESSION_LIMIT: Final = MAX_WORK_THREADS
Seconds = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]
_TIMEOUT: Final = "_timeout"


class SystemsSettings(EnvSettings):
    """``DH_MCP_*``, ``PORT`` and ``PYTHONLOGLEVEL``; see docs/systems_server.md.

    :meth:`from_env` also reads the working directory's ``.env`` (the real environment
    wins), as the server does at start, so ``DeephavenSystems()`` sees the same settings.
    """

    reads_dotenv: ClassVar[bool] = True

    config_file: str | None = Field(None, alias="DH_MCP_CONFIG_FILE")
    state_dir: Path | None = Field(None, alias="DH_MCP_STATE_DIR")
    connect_timeout: Seconds = Field(Timeouts.connect, alias="DH_MCP_CONNECT_TIMEOUT")
    probe_timeout: Seconds = Field(Timeouts.probe, alias="DH_MCP_PROBE_TIMEOUT")
    metadata_timeout: Seconds = Field(Timeouts.metadata, alias="DH_MCP_METADATA_TIMEOUT")
    data_timeout: Seconds = Field(Timeouts.data, alias="DH_MCP_DATA_TIMEOUT")
    script_timeout: Seconds = Field(Timeouts.script, alias="DH_MCP_SCRIPT_TIMEOUT")
    close_timeout: Seconds = Field(Timeouts.close, alias="DH_MCP_CLOSE_TIMEOUT")
    session_busy_timeout: Seconds = Field(
        Timeouts.session_busy, alias="DH_MCP_SESSION_BUSY_TIMEOUT"
    )
    max_calls_per_session: int = Field(
        Timeouts.max_calls_per_session,
        ge=1,
        le=MAX_CALLS_PER_SESSION_LIMIT,
        alias="DH_MCP_MAX_CALLS_PER_SESSION",
    )
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, alias="PORT")
    log_level: LogLevel = Field("INFO", alias="PYTHONLOGLEVEL")

    @property
    def timeouts(self) -> Timeouts:
        """The call timeouts and per-session call limit these settings give: each setting
        ``<kind>_timeout`` is ``Timeouts.<kind>``."""
        kinds = {
            name.removesuffix(_TIMEOUT): getattr(self, name)
            for name in type(self).model_fields
            if name.endswith(_TIMEOUT)
        }
        return Timeouts(**kinds, max_calls_per_session=self.max_calls_per_session)

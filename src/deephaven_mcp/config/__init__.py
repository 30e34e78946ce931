"""Configuration: models, loading and redaction."""

from deephaven_mcp.config.loader import (
    CONFIG_ENV_VAR,
    default_config,
    load_config,
    load_config_file,
    parse_config,
)
from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.config.redact import redacted_dict

__all__ = [
    "CONFIG_ENV_VAR",
    "McpConfig",
    "default_config",
    "load_config",
    "load_config_file",
    "parse_config",
    "redacted_dict",
]

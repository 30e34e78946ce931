"""The enterprise system configuration as it may be shown: no secret ever leaves here.

A password is shown only as being set; ``password_env_var`` shows the variable's name, never
its value; ``private_key_path`` is the path only (the file is never read here). A
connection.json URL with credentials in it has them masked too.
"""

from __future__ import annotations

import urllib.parse

from deephaven_mcp.config.models import EnterpriseSystemConfig
from deephaven_mcp.runtime.logging import REDACTED, redact


def _safe_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None or parts.username is not None:
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"{REDACTED}@{host}")
    return redact(urllib.parse.urlunsplit(parts))


def redacted_system_config(config: EnterpriseSystemConfig) -> dict[str, object]:
    """``config`` as a JSON-ready dict with every secret masked."""
    shown: dict[str, object] = {
        "connection_json_url": _safe_url(config.connection_json_url),
        "auth_type": config.auth_type,
        "connection_timeout": config.connection_timeout,
    }
    if config.auth_type == "password":
        shown["username"] = config.username
        if config.password is not None:
            shown["password"] = REDACTED
        if config.password_env_var is not None:
            shown["password_env_var"] = config.password_env_var
    else:
        shown["private_key_path"] = config.private_key_path
    creation = config.session_creation
    if creation is not None:
        defaults = creation.defaults.model_dump(exclude_none=True)
        if "session_arguments" in defaults:
            defaults["session_arguments"] = dict.fromkeys(defaults["session_arguments"], REDACTED)
        shown["session_creation"] = {
            "max_concurrent_sessions": creation.max_concurrent_sessions,
            "defaults": defaults,
        }
    return shown

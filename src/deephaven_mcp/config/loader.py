"""Read, parse and validate the configuration file.

``DH_MCP_CONFIG_FILE`` names a JSON or JSON5 file. When it is unset the server runs on a
built-in default (see :func:`default_config`). When it is set but the file is missing,
unreadable or invalid, loading fails fast with one message that names the exact problem.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any, Final

import json5
from pydantic import ValidationError

from deephaven_mcp.config._files import read_text_file
from deephaven_mcp.config.models import (
    AUTH_TYPES,
    McpConfig,
    SessionCreationConfig,
    SessionCreationDefaults,
)
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.runtime.logging import register_secret

CONFIG_ENV_VAR: Final = "DH_MCP_CONFIG_FILE"
MAX_CONFIG_BYTES: Final = 1_000_000

_log = logging.getLogger(__name__)

_MESSAGES: Final = {
    "int_type": "expected integer",
    "int_parsing": "expected integer",
    "float_type": "expected number",
    "string_type": "expected string",
    "bool_type": "expected boolean",
    "dict_type": "expected object",
    "list_type": "expected list",
    "model_type": "expected object",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "literal_error": None,  # pydantic's own message lists the allowed values
    "union_tag_not_found": "'type' is missing (expected 'bearer' or 'jwt')",
    "union_tag_invalid": "'type' must be 'bearer' or 'jwt'",
}


def format_validation_error(error: ValidationError) -> str:
    """One line per problem, each starting with the dotted path to the offending key."""
    messages: dict[str, list[str]] = {}
    for item in error.errors(include_input=False, include_url=False):
        loc = item["loc"]
        path = ".".join(
            str(part)
            for index, part in enumerate(loc)
            if not _is_union_tag(part) and not _is_auth_tag(loc, index)
        )
        message = _MESSAGES.get(item["type"]) or _clean_message(str(item["msg"]))
        found = messages.setdefault(path or "<root>", [])
        if message not in found:
            found.append(message)
    lines: list[str] = []
    for path, found in messages.items():
        # A strict int|float field reports one error per branch: say "number" once.
        if "expected number" in found:
            found = [m for m in found if m != "expected integer"]
        lines.extend(f"{path}: {message}" for message in found)
    return "\n".join(lines)


_UNION_TAGS: Final = frozenset({"int", "float", "str", "bool", "none", "list", "dict"})


def _is_union_tag(part: int | str) -> bool:
    """Whether a location part is the branch name pydantic adds for a union (hidden from users)."""
    text = str(part)
    return text in _UNION_TAGS or text.startswith(("constrained-", "function-", "json-or-python"))


def _is_auth_tag(loc: tuple[int | str, ...], index: int) -> bool:
    """The discriminated auth union adds its tag ("bearer", "jwt") after ``auth``."""
    return index > 0 and loc[index - 1] == "auth" and loc[index] in AUTH_TYPES


def _clean_message(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message[:1].lower() + message[1:]


def parse_config(text: str, source: str) -> McpConfig:
    """Parse JSON/JSON5 text and validate it; raise ConfigError with a precise message."""
    try:
        raw: Any = json5.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON/JSON5: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be an object")
    try:
        config = McpConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: invalid configuration:\n{format_validation_error(exc)}"
        ) from None
    _register_secrets(config)
    _warn_ignored_keys(config)
    return config


async def load_config_file(path: str) -> McpConfig:
    """Read ``path`` without blocking the event loop, then parse it."""
    text = await read_text_file(
        path, what="configuration file", max_bytes=MAX_CONFIG_BYTES, error=ConfigError
    )
    return parse_config(text, path)


def deephaven_server_installed() -> bool:
    """Whether the python launch method can work from this environment."""
    return importlib.util.find_spec("deephaven_server") is not None


def default_config() -> McpConfig:
    """Configuration used when ``DH_MCP_CONFIG_FILE`` is unset.

    No static sessions; on-demand community sessions through the python launch method
    when deephaven-server is installed here (otherwise nothing is configured).
    """
    if not deephaven_server_installed():
        return McpConfig()
    creation = SessionCreationConfig(
        max_concurrent_sessions=5,
        defaults=SessionCreationDefaults(launch_method="python"),
    )
    return McpConfig.model_validate({"community": {"session_creation": creation.model_dump()}})


async def load_config(path: str | None = None) -> McpConfig:
    """Load the file at ``path``; without one, the built-in default (logged once).

    ``path`` normally comes from ``DH_MCP_CONFIG_FILE`` through the server's settings.
    """
    if path is None:
        config = default_config()
        if config.community.session_creation is not None:
            what = "on-demand community sessions via the python launch method"
        else:
            what = "no sessions (install deephaven-mcp[community] for on-demand sessions)"
        _log.info(
            "%s is not set; using the built-in default configuration: %s", CONFIG_ENV_VAR, what
        )
        return config
    return await load_config_file(path)


def _register_secrets(config: McpConfig) -> None:
    for session in config.community.sessions.values():
        if session.auth_token is not None:
            register_secret(session.auth_token.get_secret_value())
    creation = config.community.session_creation
    if creation and creation.defaults.auth_token is not None:
        register_secret(creation.defaults.auth_token.get_secret_value())
    for system in config.enterprise.systems.values():
        if system.password is not None:
            register_secret(system.password.get_secret_value())


def _warn_ignored_keys(config: McpConfig) -> None:
    for name, system in config.enterprise.systems.items():
        ignored = system.ignored_keys()
        if ignored:
            _log.warning(
                "enterprise.systems.%s: keys %s are ignored with auth_type '%s'",
                name,
                ", ".join(ignored),
                system.auth_type,
            )

"""Docs server settings, read once from the environment.

Both providers speak the OpenAI chat-completions protocol, so each one is only a key, a
base URL and a model name; pointing a base URL at any compatible server (a local one
included) swaps the backend without code changes. Keys are registered for log redaction
the moment they are read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from deephaven_mcp._errors import ConfigError
from deephaven_mcp._logging import register_secret

DEFAULT_INKEEP_BASE_URL: Final = "https://api.inkeep.com/v1"
DEFAULT_INKEEP_MODEL: Final = "inkeep-context-expert"
DEFAULT_OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL: Final = "gpt-4o"
DEFAULT_REQUEST_TIMEOUT: Final = 120.0
DEFAULT_MAX_RETRIES: Final = 1

MAX_REQUEST_TIMEOUT: Final = 900.0
MAX_RETRIES_LIMIT: Final = 5


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


@dataclass(frozen=True)
class DocsSettings:
    """Everything the docs server needs; build with :meth:`from_env` or directly in tests.

    ``request_timeout`` bounds each provider attempt as a whole (retries included), so a
    slow primary cannot eat the fallback's time indefinitely.
    """

    inkeep: ProviderSettings = field(
        default_factory=lambda: ProviderSettings(
            "Inkeep", "INKEEP_API_KEY", None, DEFAULT_INKEEP_BASE_URL, DEFAULT_INKEEP_MODEL
        )
    )
    openai: ProviderSettings = field(
        default_factory=lambda: ProviderSettings(
            "OpenAI", "OPENAI_API_KEY", None, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_MODEL
        )
    )
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES

    def __post_init__(self) -> None:
        if not math.isfinite(self.request_timeout) or not (
            0 < self.request_timeout <= MAX_REQUEST_TIMEOUT
        ):
            raise ConfigError(
                f"DOCS_REQUEST_TIMEOUT must be between 0 and {MAX_REQUEST_TIMEOUT:g} seconds."
            )
        if not 0 <= self.max_retries <= MAX_RETRIES_LIMIT:
            raise ConfigError(f"DOCS_MAX_RETRIES must be between 0 and {MAX_RETRIES_LIMIT}.")

    @property
    def providers(self) -> tuple[ProviderSettings, ...]:
        """Providers in the order they are tried: Inkeep first, OpenAI as the fallback."""
        return (self.inkeep, self.openai)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DocsSettings:
        """Read the settings from ``env`` (default: ``os.environ``).

        Raises :class:`ConfigError` for malformed numbers; a missing key is not an error,
        because the server must still start and explain the problem through the tool.
        """
        source = os.environ if env is None else env

        def text(name: str, default: str) -> str:
            value = source.get(name, "").strip()
            return value or default

        def key(name: str) -> str | None:
            value = source.get(name, "").strip()
            register_secret(value)
            return value or None

        return cls(
            inkeep=ProviderSettings(
                "Inkeep",
                "INKEEP_API_KEY",
                key("INKEEP_API_KEY"),
                text("INKEEP_BASE_URL", DEFAULT_INKEEP_BASE_URL),
                text("INKEEP_MODEL", DEFAULT_INKEEP_MODEL),
            ),
            openai=ProviderSettings(
                "OpenAI",
                "OPENAI_API_KEY",
                key("OPENAI_API_KEY"),
                text("OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL),
                text("OPENAI_MODEL", DEFAULT_OPENAI_MODEL),
            ),
            request_timeout=_number(source, "DOCS_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT),
            max_retries=int(_number(source, "DOCS_MAX_RETRIES", DEFAULT_MAX_RETRIES, whole=True)),
        )


def _number(source: Mapping[str, str], name: str, default: float, *, whole: bool = False) -> float:
    raw = source.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number of seconds"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}.") from None

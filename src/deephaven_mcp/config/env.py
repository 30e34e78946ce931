"""Settings read from environment variables, validated once at start-up.

Each server has one :class:`EnvSettings` subclass. Every field names its variable as its
alias; blank variables mean "not set". A malformed value is a :class:`ConfigError` that
names the variable (never its value, which may be a secret), so a typo fails at start
instead of silently falling back to a default.

A settings class with ``reads_dotenv`` also sees the working directory's ``.env`` file as
the systems server's command line loads it (``load_dotenv(Path.cwd() / ".env",
override=False)``: the real environment wins), without changing ``os.environ``: the Python
API then reads the same settings the server would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from dotenv import dotenv_values
from pydantic import BeforeValidator, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from deephaven_mcp.errors import ConfigError


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]
"""``PYTHONLOGLEVEL``, any case."""

# The mapping ``from_env`` reads instead of ``os.environ`` (tests pass a plain dict).
_environment: ContextVar[Mapping[str, str] | None] = ContextVar("environment", default=None)


class _EnvironmentSource(EnvSettingsSource):
    def _load_env_vars(self) -> Mapping[str, str | None]:
        source = _environment.get()
        return parse_env_vars(
            os.environ if source is None else source,
            self.case_sensitive,
            self.env_ignore_empty,
            self.env_parse_none_str,
        )


@contextmanager
def _reading(env: Mapping[str, str] | None) -> Iterator[None]:
    token = _environment.set(env)
    try:
        yield
    finally:
        _environment.reset(token)


def with_dotenv(environment: Mapping[str, str]) -> dict[str, str]:
    """``environment`` over the variables of ``.env`` in the working directory (none if
    there is no such file): what ``os.environ`` holds after the server's ``load_dotenv``."""
    found = dotenv_values(Path.cwd() / ".env")
    return {
        **{name: value for name, value in found.items() if value is not None},
        **environment,
    }


def environment_value(name: str) -> str | None:
    """A variable as the systems server sees it: the real environment (even blank), else the
    working directory's ``.env``, which the server's command line loads at start without
    overriding. The Python API reads secrets named by the configuration through this too,
    so a token kept in ``.env`` works there as well, and ``os.environ`` stays untouched."""
    if name in os.environ:
        return os.environ[name]
    return dotenv_values(Path.cwd() / ".env").get(name)


class EnvSettings(BaseSettings):
    """Base for a server's environment settings; build with :meth:`from_env`."""

    reads_dotenv: ClassVar[bool] = False
    """:meth:`from_env` without a mapping also reads ``.env`` (see :func:`with_dotenv`)."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        env_ignore_empty=True,
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword overrides, then the mapping given to :meth:`from_env`; no .env files."""
        return (init_settings, _EnvironmentSource(settings_cls))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Read ``env`` (default: ``os.environ``, over ``.env`` if the class
        ``reads_dotenv``); keyword ``overrides`` win over it."""
        if env is None and cls.reads_dotenv:
            env = with_dotenv(os.environ)
        with _reading(env):
            try:
                return cls(**overrides)
            except ValidationError as exc:
                raise ConfigError(describe(exc, cls)) from None


def describe(error: ValidationError, settings: type[BaseSettings]) -> str:
    """One line per problem, each naming the environment variable."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]) if item["loc"] else "settings"
        field = settings.model_fields.get(name)
        variable = field.alias if field is not None and field.alias else name
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{variable}: {message[:1].lower()}{message[1:]}")
    return "; ".join(dict.fromkeys(lines))

"""The authentication type of a Community Core connection, parsed once for every layer.

Config files, tool arguments and launchers have always accepted several spellings ("PSK",
"psk", the Java handler class, ...). Parsing them here into one canonical value lets every
other layer compare against :attr:`AuthType.PSK` and friends instead of re-normalizing.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

PSK_HANDLER: Final = "io.deephaven.authentication.psk.PskAuthenticationHandler"
# Server side only: clients authenticate anonymously with auth_type "Anonymous".
ANONYMOUS_HANDLER: Final = "io.deephaven.auth.AnonymousAuthenticationHandler"


class AuthType(str):
    """``PSK``, ``Anonymous``, ``Basic``, or a custom Java handler class (static sessions).

    The string value is the display name shown to users; :attr:`client` is what pydeephaven's
    ``Session(auth_type=...)`` expects. Known types are singletons, so ``is`` comparisons
    work for them. A ``str`` subclass (not an Enum) because custom handler names must pass
    through unchanged.
    """

    __slots__ = ()

    PSK: ClassVar[AuthType]
    ANONYMOUS: ClassVar[AuthType]
    BASIC: ClassVar[AuthType]

    def __new__(cls, value: str) -> AuthType:
        """The canonical value for any accepted spelling; ValueError for anything else."""
        parsed = cls.parse(value)
        if parsed is None:
            raise ValueError("must be 'PSK', 'Anonymous', 'Basic' or a handler class name")
        return parsed

    @classmethod
    def parse(cls, value: object) -> AuthType | None:
        """The canonical type for any accepted spelling; None for a blank or non-string."""
        if not isinstance(value, str) or not value.strip():
            return None
        name = value.strip()
        return _ALIASES.get(name.lower()) or str.__new__(cls, name)

    @property
    def client(self) -> str:
        """The ``auth_type`` argument of pydeephaven's ``Session``."""
        return PSK_HANDLER if self is AuthType.PSK else str(self)

    @property
    def launchable(self) -> bool:
        """Whether a launched (dynamic) worker can use it: Basic needs a user database."""
        return self is AuthType.PSK or self is AuthType.ANONYMOUS

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


AuthType.PSK = str.__new__(AuthType, "PSK")
AuthType.ANONYMOUS = str.__new__(AuthType, "Anonymous")
AuthType.BASIC = str.__new__(AuthType, "Basic")

_ALIASES: Final[dict[str, AuthType]] = {
    "psk": AuthType.PSK,
    PSK_HANDLER.lower(): AuthType.PSK,
    "anonymous": AuthType.ANONYMOUS,
    "basic": AuthType.BASIC,
}

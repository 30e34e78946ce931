"""The base of every typed tool result: it knows its own success-envelope fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict


class ToolOutput(BaseModel):
    """A tool's success answer as a typed object.

    Fields left unset are not part of the answer (optional extras such as ``note`` or
    ``is_complete`` appear only when set), so :meth:`envelope_fields` reproduces the MCP
    tool's success envelope exactly, without a deep copy of large payloads.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        arbitrary_types_allowed=True,
        serialize_by_alias=True,  # model_dump() names fields as the tool answer does
        validate_by_name=True,
        validate_by_alias=True,
    )

    def envelope_fields(self) -> dict[str, Any]:
        """The fields of the success envelope (everything but ``"success": true``)."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name in self.model_fields_set
        }

    def encoded_fields(self) -> Mapping[str, str]:
        """Fields whose JSON is already known (large rows), so the response reuses it."""
        return {}

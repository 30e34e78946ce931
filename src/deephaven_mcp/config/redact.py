"""Configuration views that are safe to show to an agent or write to a log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from deephaven_mcp.runtime.logging import REDACTED


def redacted_dict(model: BaseModel) -> dict[str, Any]:
    """``model`` as a dict with every secret replaced and unset keys dropped."""
    return {key: _redact_value(getattr(model, key)) for key in model.model_fields_set}


def _redact_value(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, BaseModel):
        return redacted_dict(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value

"""Tool-argument models and their one precedence rule.

A parameter of a create tool comes from the tool argument, else the configured
``session_creation.defaults``, else a built-in default. :func:`merge_layers` applies that
rule to every field at once and validates the result once, as an :class:`ArgumentModel`
whose failures are :class:`~deephaven_mcp.errors.InvalidArgumentError` (the tools return
their text verbatim).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from deephaven_mcp.errors import InvalidArgumentError

M = TypeVar("M", bound="ArgumentModel")


class ArgumentModel(BaseModel):
    """A frozen, validated set of tool parameters.

    Validators raise ``InvalidArgumentError`` themselves where the message is part of the
    tool contract (pydantic passes such exceptions through); anything pydantic rejects on
    its own is converted here, so callers see one exception type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidArgumentError(_first_problem(exc)) from None


def _first_problem(error: ValidationError) -> str:
    item = error.errors(include_input=False, include_url=False)[0]
    path = ".".join(str(part) for part in item["loc"])
    return f"{path}: {item['msg']}" if path else str(item["msg"])


def first_given(*values: Any) -> Any:
    """The first value that is not None (None means "not given")."""
    return next((value for value in values if value is not None), None)


def _given(layer: object, name: str) -> Any:
    if isinstance(layer, Mapping):
        return layer.get(name)
    return getattr(layer, name, None)


def merge_layers(model: type[M], *layers: object, **decided: Any) -> M:
    """Validate ``model`` once from, per field, the first layer that gives a value.

    ``layers`` come highest precedence first: typically the tool arguments, the configured
    defaults model (or None), then a mapping of built-ins. A field is read by attribute or
    mapping key; None or absent means "not given", and a field no layer gives keeps the
    model's own default. ``decided`` fields were resolved by the caller from several related
    inputs and are used as they are, None included.
    """
    values = dict(decided)
    for name in model.model_fields:
        if name not in values:
            value = first_given(*(_given(layer, name) for layer in layers))
            if value is not None:
                values[name] = value
    return model(**values)


def operator_set_refusal(names: Sequence[str], may_set_key: str) -> str:
    """The refusal of caller arguments that only the operator sets: it names each setting
    and the ``agent_may_set`` key (``may_set_key``) that would let callers choose it."""
    quoted = ", ".join(f'"{name}"' for name in names)
    verb, pronoun = ("is", "it") if len(names) == 1 else ("are", "them")
    return (
        f"{', '.join(names)} {verb} set by the operator: add {quoted} to {may_set_key} "
        f"to let callers choose {pronoun}"
    )

"""Argument types shared by the MCP tools and the Python API, and one way to word their errors.

A tool argument is checked by the same pydantic type on both paths: fastmcp validates the
MCP call against the tool's signature, and the service validates a Python call with
:func:`check_argument`. Both failures are worded by :func:`describe_problems`, so the same
bad value gets the same message however it arrives: one readable line per problem, naming
the argument (``filters[0].value: ...``), never pydantic's internal type names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, TypeAlias, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from deephaven_mcp.errors import InvalidArgumentError

__all__ = [
    "MAX_SHOWN_PROBLEMS",
    "ArgumentModel",
    "Number",
    "Offset",
    "RowLimit",
    "WholeNumber",
    "argument_error",
    "check_argument",
    "describe_problems",
    "not_a_number",
    "shown_value",
]


class ArgumentModel(BaseModel):
    """The base of every structured argument (a filter, a sort key, an aggregation...).

    Immutable once validated, and strict about keys: an unknown key is refused rather than
    ignored, so a misspelt ``"colum"`` is an error, not a silently unfiltered read. Fields
    with an alias (``as``) take either name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


MAX_SHOWN_PROBLEMS: Final = 5


def not_a_number(name: str, value: object) -> InvalidArgumentError:
    """The error for a non-number where a number is expected, as the MCP path words it."""
    return InvalidArgumentError(
        f"invalid argument {name}: expected a number, not {shown_value(value)}"
    )


def _not_a_bool(value: object) -> object:
    # JSON true is not 1: pydantic's lax mode would take it as one.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {shown_value(value)}")
    return value


WholeNumber: TypeAlias = StrictInt
"""A whole number argument: JSON integers only (not true/false, not "10")."""
Number: TypeAlias = Annotated[float, BeforeValidator(_not_a_bool)]
"""A number argument: integers and decimals, not true/false."""
RowLimit: TypeAlias = Annotated[StrictInt, Field(ge=1)] | None
"""A row count: a positive whole number, or None for "all" (booleans are not numbers)."""
Offset: TypeAlias = Annotated[StrictInt, Field(ge=0)]
"""Rows to skip: zero or more."""

_T = TypeVar("_T")

# What each pydantic error type means, in the tools' own words.
_WORDS: Final[Mapping[str, str]] = {
    "missing": "is required",
    "missing_argument": "is required",
    "extra_forbidden": "is not a known field",
    "unexpected_keyword_argument": "is not a known argument",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "none_required": "expected null",
}


def _where(loc: Sequence[int | str], root: str | None) -> str:
    """``filters[0].value`` from pydantic's location, without union branch names."""
    text = root or ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("call", "args", "kwargs") or not part.isidentifier():
            continue  # a union branch ("function-after[...]", "list[...]") or a call frame
        elif (
            part in ("str", "int", "float", "bool", "list", "dict", "none")
            or part.lstrip("_")[:1].isupper()
        ):
            continue  # a union branch: a plain type, or a model (field names are lower case)
        else:
            text += f".{part}" if text else part
    return text


def shown_value(value: object) -> str:
    """A value as an error message quotes it: JSON words for true/false/null, else short."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _what(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '')}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        noun = "character" if kind.startswith("string") else "entry"
        return f"needs at least {least} {noun}{'' if least == 1 else 's'}"
    if kind in ("too_long", "string_too_long"):
        most = ctx.get("max_length")
        noun = "characters" if kind.startswith("string") else "entries"
        return f"takes at most {most} {noun}"
    if kind == "greater_than_equal":
        return f"must be {ctx.get('ge')} or more"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be {ctx.get('le')} or less"
    if kind == "string_pattern_mismatch":
        return "is not in the expected form"
    words = _WORDS.get(kind)
    if words is None:
        return str(error["msg"])
    if kind in ("missing", "missing_argument", "extra_forbidden", "unexpected_keyword_argument"):
        return words
    return f"{words}, not {shown_value(error.get('input'))}"


def describe_problems(exc: ValidationError, root: str | None = None) -> str:
    """Up to MAX_SHOWN_PROBLEMS problems as one line: ``max_rows: expected a whole number,
    not true; filters[0].op: expected one of ...``. ``root`` names the argument when the
    validated value was the argument itself (the Python path)."""
    shown: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        where = _where(error["loc"], root)
        if where in shown:
            continue  # another union branch failing at the same place says nothing new
        shown[where] = _what(error)
        if len(shown) == MAX_SHOWN_PROBLEMS:
            break
    return "; ".join(f"{where}: {what}" if where else what for where, what in shown.items())


def argument_error(exc: ValidationError, root: str | None = None) -> InvalidArgumentError:
    """The error both paths raise for arguments that do not validate."""
    return InvalidArgumentError(f"invalid argument {describe_problems(exc, root)}")


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def check_argument(name: str, type_: Any, value: object) -> Any:
    """``value`` validated as the tool's parameter ``name`` of ``type_``, or the same
    InvalidArgumentError the MCP path answers."""
    adapter = _ADAPTERS.get(type_)
    if adapter is None:
        adapter = _ADAPTERS.setdefault(type_, TypeAdapter(type_))
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise argument_error(exc, name) from None

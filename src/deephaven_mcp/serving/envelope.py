"""The response envelope shared by every tool of both servers.

Success:  ``{"success": true, ...fields}``
Failure:  ``{"success": false, "error": "<short human message>", "isError": true}`` and the
MCP result is flagged ``isError`` at the protocol level too. An error that carries
``details`` (:attr:`DeephavenMcpError.details`, e.g. what a failed script printed) adds them
as ``"details": {...}``.

Each tool declares an output schema built by :func:`envelope_schema`, which accepts exactly
these two shapes, so clients can validate every response, failures included; a tool
answering with a :class:`ToolOutput` gets it from the model (:func:`output_schema`).

A result that is also a picture (:class:`ShowsImage`, e.g. a chart) adds it to the content
after the JSON text: an MCP image, then its caption as text. The structured content stays
the fields alone, so the output schema does not change.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, ParamSpec, Protocol, runtime_checkable

import mcp_types as mt
import pydantic_core
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import ImageContent, TextContent
from pydantic import ValidationError as PydanticValidationError

from deephaven_mcp.errors import DeephavenMcpError
from deephaven_mcp.model.arguments import argument_error
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.runtime.logging import redact

_log = logging.getLogger(__name__)
P = ParamSpec("P")

MAX_ERROR_LENGTH: Final = 500


def envelope_text(structured: Mapping[str, Any], encoded: Mapping[str, str]) -> str:
    """The JSON text of ``structured``, splicing in the ``encoded`` values instead of encoding
    them again; byte for byte what ``pydantic_core.to_json(structured)`` gives."""
    if not encoded:
        return pydantic_core.to_json(structured).decode()
    pieces: list[str] = []
    for key, value in structured.items():
        pieces.append("," if pieces else "{")
        pieces.append(pydantic_core.to_json(key).decode())
        pieces.append(":")
        pieces.append(encoded[key] if key in encoded else pydantic_core.to_json(value).decode())
    pieces.append("}" if pieces else "{}")
    return "".join(pieces)


def ok(encoded: Mapping[str, str] | None = None, /, **fields: Any) -> ToolResult:
    """A success result carrying ``fields`` (which must already be JSON-compatible).

    ``encoded`` holds the JSON of fields that were encoded when they were made (large rows):
    the text copy reuses it. Built directly rather than through ``ToolResult(...)``, whose
    constructor walks the whole payload once more to make it JSON-able: for a 100,000-row
    answer that pass costs about as much as encoding it.
    """
    structured = {"success": True, **fields}
    text = envelope_text(structured, encoded or {})
    return ToolResult.model_construct(
        content=[TextContent(type="text", text=text)],
        structured_content=structured,
        meta=None,
        is_error=False,
    )


def error_text(message: str) -> str:
    """``message`` as it may be shown to a client: stripped, redacted, at most
    MAX_ERROR_LENGTH characters."""
    text = redact(message.strip())
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 1] + "…"
    return text


def fail(message: str, details: Mapping[str, Any] | None = None) -> ToolResult:
    """A failure result: short, redacted, flagged as an error on the wire; ``details``
    (JSON-compatible) travel as they are, like the fields of a success."""
    structured: dict[str, Any] = {"success": False, "error": error_text(message), "isError": True}
    if details is not None:
        structured["details"] = dict(details)
    return ToolResult(structured_content=structured, is_error=True)


def message_for(exc: BaseException, action: str) -> str:
    """A human message for ``exc``; unexpected exceptions are logged, not echoed."""
    if isinstance(exc, DeephavenMcpError):
        return str(exc)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return f"{action} timed out."
    _log.debug("%s failed", action, exc_info=exc)
    _log.warning("%s failed: %s", action, type(exc).__name__)
    return f"{action} failed unexpectedly ({type(exc).__name__}); see the server log."


async def run_tool(action: str, body: Callable[[], Awaitable[ToolResult]]) -> ToolResult:
    """Run a tool body and turn any exception into the failure envelope.

    ``action`` is a short phrase ("Listing tables") used in messages for unexpected errors.
    """
    try:
        return await body()
    except DeephavenMcpError as exc:
        _log.info("%s: %s", action, exc)
        return fail(str(exc), exc.details)
    except Exception as exc:
        return fail(message_for(exc, action))


@runtime_checkable
class ShowsImage(Protocol):
    """A result that carries a picture beside its fields (a chart)."""

    def image_content(self) -> tuple[bytes, str, str]:
        """The picture: its bytes, MIME type and a caption in words."""
        ...


def with_image(answer: ToolResult, result: ShowsImage) -> ToolResult:
    """``answer`` with ``result``'s picture appended: the image, then its caption."""
    data, mime_type, caption = result.image_content()
    answer.content.append(
        ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mime_type=mime_type)
    )
    answer.content.append(TextContent(type="text", text=caption))
    return answer


def as_envelope(
    action: str,
) -> Callable[[Callable[P, Awaitable[ToolOutput]]], Callable[P, Awaitable[ToolResult]]]:
    """Turn a function returning a :class:`ToolOutput` into one returning the envelope.

    The one conversion every tool goes through: the result's fields become the success
    envelope (a :class:`ShowsImage` result adds its picture to the content); a
    :class:`DeephavenMcpError` becomes the failure envelope with its message;
    anything else is logged and masked (``action`` names it, e.g. "Listing tables"). The
    signature and docstring are kept, so fastmcp derives the tool from the original.
    """

    def decorate(fn: Callable[P, Awaitable[ToolOutput]]) -> Callable[P, Awaitable[ToolResult]]:
        @functools.wraps(fn)
        async def tool(*args: P.args, **kwargs: P.kwargs) -> ToolResult:
            async def body() -> ToolResult:
                result = await fn(*args, **kwargs)
                answer = ok(result.encoded_fields(), **result.envelope_fields())
                return with_image(answer, result) if isinstance(result, ShowsImage) else answer

            return await run_tool(action, body)

        return tool

    return decorate


def envelope_schema(
    properties: dict[str, Any] | None = None, required: list[str] | None = None
) -> dict[str, Any]:
    """Output schema accepting the success shape (with ``properties``) or the failure shape."""
    properties = properties or {}
    success_branch: dict[str, Any] = {
        "type": "object",
        "properties": {"success": {"const": True}, **properties},
        "required": ["success", *(required or [])],
    }
    failure_branch: dict[str, Any] = {
        "type": "object",
        "properties": {
            "success": {"const": False},
            "error": {"type": "string"},
            "isError": {"const": True},
            "details": {"type": "object"},
        },
        "required": ["success", "error", "isError"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "success": {"type": "boolean"},
            "error": {"type": "string"},
            "isError": {"type": "boolean"},
            "details": {"type": "object"},
            **properties,
        },
        "required": ["success"],
        "anyOf": [success_branch, failure_branch],
    }


# Keywords whose values are data, not schemas: never rewritten.
_DATA_KEYWORDS: Final = frozenset({"const", "enum", "examples"})
# Keywords whose values map names to schemas: the names are kept as they are.
_SCHEMA_MAPS: Final = frozenset({"properties", "patternProperties"})


def _plain(node: Any, defs: Mapping[str, Any]) -> Any:
    """``node`` with every ``$ref`` inlined and pydantic's ``title`` and ``default`` dropped
    (an answer leaves an unset field out rather than sending a default), and an ``anyOf``
    of bare types written as one ``type`` list (``{"type": ["string", "null"]}``)."""
    if isinstance(node, list):
        return [_plain(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        shared = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _plain({**shared, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    plain: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default", "$defs"):
            continue
        if key in _SCHEMA_MAPS:
            plain[key] = {name: _plain(schema, defs) for name, schema in value.items()}
        elif key in _DATA_KEYWORDS:
            plain[key] = value
        else:
            plain[key] = _plain(value, defs)
    branches = plain.get("anyOf")
    if branches and all(set(b) == {"type"} and isinstance(b["type"], str) for b in branches):
        del plain["anyOf"]
        plain["type"] = [branch["type"] for branch in branches]
    return plain


def _fields_schema(model: type[ToolOutput]) -> tuple[dict[str, Any], list[str]]:
    """The properties of ``model``'s answer and the ones every answer has (no default)."""
    schema = model.model_json_schema(mode="serialization")
    plain = _plain(schema, schema.get("$defs", {}))
    return plain.get("properties", {}), list(plain.get("required", []))


def output_schema(*models: type[ToolOutput]) -> dict[str, Any]:
    """The output schema of a tool answering with one of ``models``: each model's fields and
    required fields in the success branch of :func:`envelope_schema`.

    With several models a success has the required fields of at least one of them (a tool
    taking one persistent query or a list answers with the one's fields or a batch).
    """
    properties: dict[str, Any] = {}
    required: list[list[str]] = []
    for model in models:
        fields, needed = _fields_schema(model)
        for name, schema in fields.items():
            known = properties.setdefault(name, schema)
            if known != schema:
                properties[name] = {"anyOf": [known, schema]}
        required.append(needed)
    if len(required) == 1:
        return envelope_schema(properties, required[0])
    schema = envelope_schema(properties)
    success = schema["anyOf"][0]  # the failure branch stays as it is
    success["anyOf"] = [{"required": needed} for needed in required]
    return schema


class ArgumentErrorMiddleware(Middleware):
    """Turn argument-validation failures into the standard failure envelope.

    fastmcp reports a wrongly typed argument as a pydantic dump; agents get a one-line
    message naming the argument instead, in the same shape as every other tool error, and
    in the same words as the Python API (:mod:`deephaven_mcp.model.arguments`).
    """

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        """Call the tool; a rejected argument becomes the failure envelope naming it."""
        try:
            return await call_next(context)
        except ValidationError as exc:
            cause: Any = exc.__cause__
            if isinstance(cause, PydanticValidationError):
                return fail(str(argument_error(cause)))
            return fail(f"invalid arguments for {context.message.name}")

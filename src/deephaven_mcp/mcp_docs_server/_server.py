"""The docs server factory: one ``docs_chat`` tool and a ``/health`` route.

Building the server never contacts a provider and never fails for lack of keys, so it can
be constructed in tests and at startup alike; configuration problems surface as clear
tool errors instead. The provider clients live as long as the server's lifespan.

On the HTTP transports the settings' bearer token (if any) guards the MCP endpoints;
``/health`` stays open, because fastmcp wraps only its own MCP routes in
``RequireAuthMiddleware`` and never custom routes, so probes need no secret.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

import mcp_types
from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deephaven_mcp._version import __version__
from deephaven_mcp.mcp_docs_server._llm import DocsAssistant
from deephaven_mcp.mcp_docs_server._mcp import run_docs_chat
from deephaven_mcp.mcp_docs_server._prompt import (
    MAX_HISTORY_MESSAGES,
    MAX_MESSAGE_CHARS,
    MAX_PROMPT_CHARS,
)
from deephaven_mcp.mcp_docs_server._settings import DocsSettings
from deephaven_mcp.serving.envelope import ArgumentErrorMiddleware, envelope_schema

_log = logging.getLogger(__name__)

SERVER_NAME: Final = "deephaven-mcp-docs"

INSTRUCTIONS: Final = (
    "Answers questions about Deephaven (Community Core and Core+/Enterprise) from its "
    "documentation. Call docs_chat with the question; pass earlier turns as history, and "
    "the worker's Deephaven versions and programming language when known, for answers "
    "that fit the user's setup."
)

TOOL_DESCRIPTION: Final = f"""\
Ask the Deephaven documentation assistant a natural-language question about Deephaven: \
table operations, query syntax, APIs, configuration, deployment, errors.

Returns {{"success": true, "response": "<answer>"}}, or {{"success": false, "error": \
"<reason>", "isError": true}} when the question is malformed or no documentation \
provider could answer. Answers come from an LLM grounded in the Deephaven documentation; \
verify generated code before running it.

Limits: prompt up to {MAX_PROMPT_CHARS} characters; history up to {MAX_HISTORY_MESSAGES} \
messages of up to {MAX_MESSAGE_CHARS} characters each. When too many questions are in \
flight the tool answers that the assistant is busy; retry after a few seconds."""

_HISTORY_HELP: Final = (
    "Earlier turns of this conversation, oldest first: a list of objects "
    '{"role": "user" | "assistant", "content": "<text>"}. Content may also be a list of '
    '{"type": "text", "text": "<text>"} parts. A JSON string encoding the list is accepted '
    "too. 'system' messages are rejected: the server supplies the system prompt."
)


def build_docs_server(settings: DocsSettings | None = None) -> FastMCP[Any]:
    """Create a docs server; ``settings`` defaults to :meth:`DocsSettings.from_env`."""
    settings = settings if settings is not None else DocsSettings.from_env()
    assistant = DocsAssistant(settings)

    @asynccontextmanager
    async def lifespan(_server: FastMCP[Any]) -> AsyncIterator[dict[str, Any]]:
        if assistant.configured:
            _log.info("Docs assistant providers: %s", assistant.describe())
        else:
            _log.warning(
                "Docs assistant has no provider: set INKEEP_API_KEY (and optionally "
                "OPENAI_API_KEY); docs_chat will return an error until then."
            )
        _log.info(
            "docs_chat: at most %d questions in flight; others wait up to %gs for a slot",
            settings.max_concurrent_chats,
            settings.queue_timeout,
        )
        try:
            yield {}
        finally:
            await assistant.aclose()

    server: FastMCP[Any] = FastMCP(
        name=SERVER_NAME,
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        middleware=[ArgumentErrorMiddleware()],
        auth=settings.exposure.auth,
    )

    @server.tool(
        name="docs_chat",
        description=TOOL_DESCRIPTION,
        output_schema=envelope_schema({"response": {"type": "string"}}, ["response"]),
        annotations=mcp_types.ToolAnnotations(
            title="Ask the Deephaven documentation",
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    async def docs_chat(
        prompt: Annotated[str, Field(description="The question about Deephaven.")],
        history: Annotated[list[Any] | str | None, Field(description=_HISTORY_HELP)] = None,
        deephaven_core_version: Annotated[
            str | None,
            Field(description="Deephaven Community Core version of the user's worker."),
        ] = None,
        deephaven_enterprise_version: Annotated[
            str | None,
            Field(description="Deephaven Core+ (Enterprise) version of the user's worker."),
        ] = None,
        programming_language: Annotated[
            str | None,
            Field(description='Language for code examples, e.g. "python" or "groovy".'),
        ] = None,
    ) -> ToolResult:
        return await run_docs_chat(
            assistant,
            prompt,
            history,
            deephaven_core_version,
            deephaven_enterprise_version,
            programming_language,
        )

    @server.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_request: Request) -> Response:
        # Liveness only, and unauthenticated: a missing key is reported by the tool, not
        # by failing probes, and the answer reveals nothing about the configuration.
        return JSONResponse({"status": "ok"})

    return server

"""``docs_chat`` as plain async Python, shared by the MCP tool and programmatic callers.

``from deephaven_mcp import docs_chat`` gives the same envelope the
tool returns (``{"success": true, "response": ...}`` or ``{"success": false, "error":
...}``) without running a server; the assistant it uses is built from the environment.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from deephaven_mcp.mcp_docs_server._llm import DocsAssistant
from deephaven_mcp.mcp_docs_server._prompt import build_messages, validate_request
from deephaven_mcp.mcp_docs_server._settings import DocsSettings
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.serving.envelope import as_envelope

ACTION: Final = "Answering the documentation question"

# One assistant per event loop: its HTTP connections belong to the loop that opened them.
_default: tuple[asyncio.AbstractEventLoop, DocsAssistant] | None = None


class DocsAnswer(ToolOutput):
    """A ``docs_chat`` answer: the assistant's reply, in Markdown."""

    response: str


async def answer(assistant: DocsAssistant, *arguments: Any) -> DocsAnswer:
    """Validate ``docs_chat``'s arguments (in :func:`validate_request`'s order), then ask the
    providers; raises on any failure."""
    request = validate_request(*arguments)
    return DocsAnswer(response=await assistant.answer(build_messages(request)))


run_docs_chat = as_envelope(ACTION)(answer)
""":func:`answer` with the tool's envelope: what the MCP tool returns."""


def default_assistant() -> DocsAssistant:
    """The assistant used by :func:`docs_chat`, configured from the environment."""
    global _default
    loop = asyncio.get_running_loop()
    if _default is None or _default[0] is not loop:
        _default = (loop, DocsAssistant(DocsSettings.from_env()))
    return _default[1]


async def docs_chat(
    prompt: str,
    history: list[dict[str, Any]] | None = None,
    deephaven_core_version: str | None = None,
    deephaven_enterprise_version: str | None = None,
    programming_language: str | None = None,
) -> dict[str, Any]:
    """Answer a Deephaven documentation question; returns the tool's envelope as a dict."""
    result = await _answer_from_environment(
        prompt,
        history,
        deephaven_core_version,
        deephaven_enterprise_version,
        programming_language,
    )
    return dict(result.structured_content or {})


@as_envelope(ACTION)
async def _answer_from_environment(*arguments: Any) -> DocsAnswer:
    # Inside the envelope: a malformed DOCS_* variable is an answer, not a traceback.
    return await answer(default_assistant(), *arguments)


async def aclose_default_assistant() -> None:
    """Release the default assistant's connections (call before the event loop ends)."""
    global _default
    current, _default = _default, None
    if current is not None:
        await current[1].aclose()

"""Input validation and the system prompt for ``docs_chat``.

Everything a client sends is checked here before any network call, so a malformed
request costs nothing and the error names exactly which field (or history index) is
wrong. The optional version and language hints are folded into the system prompt so the
assistant can tailor its answer; they are tightly validated because they end up there.
The system prompt is ours alone: history may hold only 'user' and 'assistant' turns, so a
client cannot replace or override the instructions the server gives the model.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from deephaven_mcp.errors import InvalidArgumentError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

MAX_PROMPT_CHARS: Final = 16_000
MAX_HISTORY_MESSAGES: Final = 40
MAX_MESSAGE_CHARS: Final = 32_000
MAX_HISTORY_CHARS: Final = 200_000
MAX_VERSION_CHARS: Final = 64
MAX_LANGUAGE_CHARS: Final = 32

Role = Literal["user", "assistant"]
ROLES: Final[tuple[Role, ...]] = ("user", "assistant")
# Roles that carry instructions rather than conversation; named in the error so a client
# learns why, instead of guessing at a spelling.
_INSTRUCTION_ROLES: Final = frozenset({"system", "developer"})

_VERSION_RE: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z .+_()/-]*")
_LANGUAGE_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9 +#._-]*")
_LANGUAGE_NAMES: Final = {"python": "Python", "groovy": "Groovy", "java": "Java"}

_BASE_PROMPT: Final = """\
You are the Deephaven documentation assistant. Deephaven is a real-time query engine \
for streaming and static tables, available as Deephaven Community Core and as the \
commercial Deephaven Core+ (Enterprise) platform.

Ground every answer in the official Deephaven documentation. Prefer short, runnable \
examples that use the Deephaven APIs as they are documented; say so plainly when the \
documentation does not cover something instead of guessing, and point to the relevant \
documentation page when you can. Do not invent functions, parameters or packages."""


class HistoryMessage(NamedTuple):
    """One validated prior turn of the conversation."""

    role: Role
    content: str


class ChatRequest(NamedTuple):
    """A validated ``docs_chat`` call, ready to be turned into chat messages."""

    prompt: str
    history: list[HistoryMessage]
    core_version: str | None
    enterprise_version: str | None
    language: str | None


def validate_request(
    prompt: Any,
    history: Any = None,
    deephaven_core_version: Any = None,
    deephaven_enterprise_version: Any = None,
    programming_language: Any = None,
) -> ChatRequest:
    """Check every ``docs_chat`` argument; the first problem raises InvalidArgumentError."""
    return ChatRequest(
        prompt=validate_prompt(prompt),
        history=validate_history(history),
        core_version=_optional_hint(
            "deephaven_core_version", deephaven_core_version, MAX_VERSION_CHARS, _VERSION_RE
        ),
        enterprise_version=_optional_hint(
            "deephaven_enterprise_version",
            deephaven_enterprise_version,
            MAX_VERSION_CHARS,
            _VERSION_RE,
        ),
        language=_optional_hint(
            "programming_language", programming_language, MAX_LANGUAGE_CHARS, _LANGUAGE_RE
        ),
    )


def validate_prompt(prompt: Any) -> str:
    """The prompt must be a non-blank string of bounded length."""
    if not isinstance(prompt, str):
        raise InvalidArgumentError(f"prompt must be a string, got {_kind(prompt)}.")
    if not prompt.strip():
        raise InvalidArgumentError("prompt must not be empty.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidArgumentError(
            f"prompt is too long ({len(prompt)} characters; the limit is {MAX_PROMPT_CHARS})."
        )
    return prompt


def validate_history(history: Any) -> list[HistoryMessage]:
    """History is ``None`` or a bounded list of ``{"role", "content"}`` objects.

    The list may also arrive JSON-encoded as a string. ``content`` may be a string or a
    list of ``{"type": "text", "text": ...}`` parts, which are joined with newlines. Keys
    other than ``role`` and ``content`` are ignored.
    """
    if isinstance(history, str):
        history = _parse_json_history(history)
    if history is None:
        return []
    if not isinstance(history, list):
        raise InvalidArgumentError(
            f"history must be a list of {{'role', 'content'}} messages, got {_kind(history)}."
        )
    if len(history) > MAX_HISTORY_MESSAGES:
        raise InvalidArgumentError(
            f"history has {len(history)} messages; the limit is {MAX_HISTORY_MESSAGES}. "
            "Drop the oldest turns."
        )
    messages = [_history_message(index, item) for index, item in enumerate(history)]
    total = sum(len(message.content) for message in messages)
    if total > MAX_HISTORY_CHARS:
        raise InvalidArgumentError(
            f"history is too long ({total} characters in all; the limit is "
            f"{MAX_HISTORY_CHARS}). Drop the oldest turns."
        )
    return messages


def _parse_json_history(text: str) -> Any:
    # Some clients send the list JSON-encoded; accept that rather than fail on a technicality.
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidArgumentError(
            "history must be a list of {'role', 'content'} messages (or a JSON string "
            "encoding one); the string given is not valid JSON."
        ) from None


def _history_message(index: int, item: Any) -> HistoryMessage:
    where = f"history[{index}]"
    if not isinstance(item, dict):
        raise InvalidArgumentError(
            f"{where} must be an object with 'role' and 'content', got {_kind(item)}."
        )
    if "role" not in item:
        raise InvalidArgumentError(f"{where} is missing 'role'.")
    if "content" not in item:
        raise InvalidArgumentError(f"{where} is missing 'content'.")
    role = item["role"]
    if isinstance(role, str) and role.strip().lower() in _INSTRUCTION_ROLES:
        raise InvalidArgumentError(
            f"{where}.role: {role[:40]!r} messages are not accepted; only 'user' and 'assistant'."
        )
    if role not in ROLES:
        allowed = ", ".join(repr(name) for name in ROLES)
        shown = repr(role) if isinstance(role, str) else _kind(role)
        raise InvalidArgumentError(f"{where}.role must be one of {allowed}, got {shown[:40]}.")
    content = _content_text(where, item["content"])
    if len(content) > MAX_MESSAGE_CHARS:
        raise InvalidArgumentError(
            f"{where}.content is too long ({len(content)} characters; the limit is "
            f"{MAX_MESSAGE_CHARS})."
        )
    return HistoryMessage(role, content)


def _content_text(where: str, content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidArgumentError(
            f"{where}.content must be a string or a list of text parts, got {_kind(content)}."
        )
    texts: list[str] = []
    for part_index, part in enumerate(content):
        part_where = f"{where}.content[{part_index}]"
        if not isinstance(part, dict) or part.get("type") != "text":
            raise InvalidArgumentError(
                f"{part_where} must be a text part {{'type': 'text', 'text': ...}}; "
                "only text is supported."
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise InvalidArgumentError(f"{part_where}.text must be a string.")
        texts.append(text)
    return "\n".join(texts)


def _optional_hint(name: str, value: Any, limit: int, pattern: re.Pattern[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {_kind(value)}.")
    text: str = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidArgumentError(f"{name} is too long (the limit is {limit} characters).")
    if not pattern.fullmatch(text):
        raise InvalidArgumentError(
            f"{name} contains unexpected characters; give a plain value such as "
            f"{'python' if name == 'programming_language' else '0.39.8'}."
        )
    return text


def build_system_prompt(
    core_version: str | None = None,
    enterprise_version: str | None = None,
    language: str | None = None,
) -> str:
    """The base instructions plus whatever context the caller supplied."""
    context: list[str] = []
    if core_version:
        context.append(
            f"The user's worker runs Deephaven Community Core version {core_version}; "
            "answer for that version and mention when a feature needs a different one."
        )
    if enterprise_version:
        context.append(
            f"The user's worker runs Deephaven Core+ (Enterprise) version {enterprise_version}; "
            "prefer the Core+ APIs and documentation for that version."
        )
    if language:
        display = _LANGUAGE_NAMES.get(language.lower(), language)
        context.append(
            f"The user writes {display}. Give every code example in {display} unless they "
            "ask for another language."
        )
    if not context:
        return _BASE_PROMPT
    return _BASE_PROMPT + "\n\nContext about the user:\n" + "\n".join(f"- {c}" for c in context)


def build_messages(request: ChatRequest) -> list[ChatCompletionMessageParam]:
    """System prompt, then the prior turns, then the new question."""
    system = build_system_prompt(request.core_version, request.enterprise_version, request.language)
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
    messages.extend(_to_param(message) for message in request.history)
    messages.append({"role": "user", "content": request.prompt})
    return messages


def _to_param(message: HistoryMessage) -> ChatCompletionMessageParam:
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")

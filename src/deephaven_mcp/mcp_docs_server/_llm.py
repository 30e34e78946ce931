"""Chat-completion providers and the Inkeep-then-OpenAI fallback.

Each provider owns one ``openai.AsyncOpenAI`` client, created on first use and shared by
every request so connections are pooled; :meth:`DocsAssistant.aclose` releases them when
the server shuts down. Every attempt is bounded by the configured timeout, and failures
are summarised as short phrases (status codes, "timed out") so nothing from a provider's
response body, and never a key, reaches logs or clients. Every question goes through
the assistant's :class:`ChatLimiter`, so the MCP tool and programmatic callers share one
cap on provider requests in flight. The ``openai`` package itself loads with the first
client (or the first failure to describe), not with the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from deephaven_mcp.errors import DeephavenMcpError
from deephaven_mcp.mcp_docs_server._limiter import ChatLimiter
from deephaven_mcp.mcp_docs_server._settings import DocsSettings, ProviderSettings

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

_log = logging.getLogger(__name__)

MAX_CONNECT_TIMEOUT: Final = 10.0

# Read by an MCP client of the docs server and by a Python caller of ``docs_chat`` alike,
# so it names the variables and the process whose environment needs them, not one caller.
NO_PROVIDER_MESSAGE: Final = (
    "The documentation assistant is not configured: set INKEEP_API_KEY (or OPENAI_API_KEY, "
    "or both) in the environment of the process that runs docs_chat (the docs server, or "
    "your Python program), then restart that process."
)


class OpenAIClientError(DeephavenMcpError):
    """No provider produced an answer; the message says what happened to each one."""


class EmptyAnswerError(Exception):
    """The provider replied successfully but without any text."""


class ChatProvider:
    """One OpenAI-compatible endpoint with a lazily created, shared async client."""

    def __init__(self, settings: ProviderSettings, timeout: float, max_retries: int) -> None:
        self.settings = settings
        self.timeout = timeout
        self._max_retries = max_retries
        self._client: openai.AsyncOpenAI | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    def _get_client(self) -> openai.AsyncOpenAI:
        # Creation does not await, so concurrent first requests cannot build two clients.
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self.settings.api_key,
                base_url=self.settings.base_url,
                timeout=openai.Timeout(
                    self.timeout, connect=min(MAX_CONNECT_TIMEOUT, self.timeout)
                ),
                max_retries=self._max_retries,
            )
        return self._client

    async def complete(self, messages: Sequence[ChatCompletionMessageParam]) -> str:
        """Return the assistant's answer, or raise whatever went wrong."""
        client = self._get_client()
        # The client's own timeout applies per HTTP read; this one bounds the whole
        # attempt, retries and a server that trickles bytes included.
        async with asyncio.timeout(self.timeout):
            completion = await client.chat.completions.create(
                model=self.settings.model, messages=list(messages)
            )
        content = completion.choices[0].message.content if completion.choices else None
        if not content or not content.strip():
            raise EmptyAnswerError
        return content

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


class DocsAssistant:
    """Tries each configured provider in order and returns the first answer."""

    def __init__(self, settings: DocsSettings) -> None:
        self.settings = settings
        self.providers = [
            ChatProvider(provider, settings.request_timeout, settings.max_retries)
            for provider in settings.providers
            if provider.configured
        ]
        self.limiter = ChatLimiter(settings.max_concurrent_chats, settings.queue_timeout)

    @property
    def configured(self) -> bool:
        return bool(self.providers)

    def describe(self) -> str:
        """A one-line, key-free summary for the startup log."""
        if not self.providers:
            return "no provider configured (INKEEP_API_KEY and OPENAI_API_KEY are unset)"
        return " -> ".join(
            f"{p.name} ({p.settings.model} at {_without_userinfo(p.settings.base_url)})"
            for p in self.providers
        )

    async def answer(self, messages: Sequence[ChatCompletionMessageParam]) -> str:
        """Ask each provider in turn; raise :class:`OpenAIClientError` if all fail.

        Holds one limiter slot for the whole exchange (fallback included); raises
        :class:`ChatBusyError` when no slot comes free within the queue timeout.
        """
        if not self.providers:
            raise OpenAIClientError(NO_PROVIDER_MESSAGE)
        async with self.limiter.slot():
            return await self._ask_in_turn(messages)

    async def _ask_in_turn(self, messages: Sequence[ChatCompletionMessageParam]) -> str:
        failures: list[str] = []
        for provider in self.providers:
            try:
                text = await provider.complete(messages)
            except Exception as exc:
                reason = describe_failure(exc, provider)
                failures.append(f"{provider.name} {reason}")
                _log.warning("docs_chat: %s %s", provider.name, reason)
                _log.debug("docs_chat: %s failure detail", provider.name, exc_info=exc)
                continue
            if failures:
                _log.info("docs_chat: answered by fallback provider %s", provider.name)
            return text
        raise OpenAIClientError(self._failure_message(failures))

    def _failure_message(self, failures: list[str]) -> str:
        message = "The documentation assistant could not answer: " + "; ".join(failures) + "."
        if not self.settings.openai.configured:
            message += " Set OPENAI_API_KEY to enable the OpenAI fallback."
        return message

    async def aclose(self) -> None:
        """Close every client; safe to call repeatedly (clients are recreated on demand)."""
        for provider in self.providers:
            try:
                await provider.aclose()
            except Exception as exc:
                _log.debug("Closing the %s client failed: %s", provider.name, type(exc).__name__)


def _without_userinfo(url: str) -> str:
    # A base URL may embed credentials (https://user:secret@host/v1); never log them.
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def describe_failure(exc: BaseException, provider: ChatProvider) -> str:
    """A short phrase for ``exc`` that is safe to log and to show to a client."""
    import openai

    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return f"did not answer within {provider.timeout:g}s"
    if isinstance(exc, openai.AuthenticationError):
        return f"rejected the API key (HTTP 401); check {provider.settings.key_env}"
    if isinstance(exc, openai.PermissionDeniedError):
        return "refused the request (HTTP 403)"
    if isinstance(exc, openai.NotFoundError):
        return "returned HTTP 404; check the base URL and model name"
    if isinstance(exc, openai.RateLimitError):
        return "is rate limiting requests (HTTP 429)"
    if isinstance(exc, openai.APIStatusError):
        return f"returned HTTP {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "could not be reached"
    if isinstance(exc, EmptyAnswerError):
        return "returned an empty answer"
    return f"failed unexpectedly ({type(exc).__name__})"

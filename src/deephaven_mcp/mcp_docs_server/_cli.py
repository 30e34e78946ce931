"""Command line entry point (``dh-mcp-docs-server``) and :func:`run_server`.

Logging goes to stderr through the package's redacting handler; stdout is left to the MCP
stdio protocol. Streamable-HTTP runs stateless so replicas behind a load balancer need no
session affinity.

The HTTP transports always run behind the shared Host/Origin guard, and a bind beyond
loopback is refused unless ``DOCS_AUTH_TOKEN`` is set or the operator passes
``--dangerously-allow-unauthenticated-network``: an open docs server spends the
operator's LLM API key for whoever can reach it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Final, Literal, NoReturn, get_args

from deephaven_mcp.errors import ConfigError
from deephaven_mcp.mcp_docs_server._server import build_docs_server
from deephaven_mcp.mcp_docs_server._settings import AUTH_ENV_VAR, DocsSettings
from deephaven_mcp.runtime.logging import setup_logging
from deephaven_mcp.serving.http_security import (
    ALLOW_UNAUTHENTICATED_FLAG,
    check_bind,
    serve_http,
)
from deephaven_mcp.serving.process import collector_paused, sigterm_as_keyboard_interrupt
from deephaven_mcp.serving.stdio import run_stdio

Transport = Literal["streamable-http", "sse", "stdio"]
TRANSPORTS: Final[tuple[str, ...]] = get_args(Transport)
DEFAULT_TRANSPORT: Final = "streamable-http"
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8001
PROG: Final = "dh-mcp-docs-server"

_log = logging.getLogger(__name__)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, got {port}")
    return port


def run_server(
    transport: Transport = DEFAULT_TRANSPORT,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    settings: DocsSettings | None = None,
    allow_unauthenticated: bool = False,
) -> None:
    """Build a docs server and serve it until interrupted (blocking).

    ``settings`` defaults to :meth:`DocsSettings.from_env`. For the HTTP transports a
    non-loopback ``host`` without a bearer token raises ``UnsafeBindError`` (a
    :class:`ConfigError`) before anything listens, unless ``allow_unauthenticated``.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    settings = settings if settings is not None else DocsSettings.from_env()
    if transport != "stdio":
        check_http_bind(settings, host, allow_unauthenticated=allow_unauthenticated)
    _serve(transport, host, port if port is not None else settings.port, settings)


def check_http_bind(settings: DocsSettings, host: str, *, allow_unauthenticated: bool) -> None:
    """Refuse (ConfigError) to serve a non-loopback ``host`` without a token, unless allowed."""
    check_bind(
        host,
        authenticated=settings.exposure.auth is not None,
        allow_unauthenticated=allow_unauthenticated,
        how_to_authenticate=f"set {AUTH_ENV_VAR} to a random string of at least 16 "
        "characters; see docs/docs_server.md, 'Security'",
    )


def _serve(transport: Transport, host: str, port: int, settings: DocsSettings) -> None:
    # Shared by run_server and main; the caller has already checked the bind.
    with collector_paused():
        server = build_docs_server(settings)
    if transport == "stdio":
        run_stdio(server)
        return
    options = {"stateless_http": True} if transport == "streamable-http" else {}
    serve_http(server, transport, host=host, port=port, exposure=settings.exposure, **options)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="MCP server answering Deephaven documentation questions (docs_chat).",
        epilog="Environment: INKEEP_API_KEY, INKEEP_BASE_URL, INKEEP_MODEL, OPENAI_API_KEY, "
        "OPENAI_BASE_URL, OPENAI_MODEL, DOCS_REQUEST_TIMEOUT, DOCS_MAX_RETRIES, "
        "DOCS_MAX_CONCURRENT_CHATS (default 32), DOCS_QUEUE_TIMEOUT (seconds, default 10), "
        "DOCS_AUTH_TOKEN (when set, HTTP clients must send it as a bearer token; required "
        "to bind beyond loopback), DOCS_ALLOWED_HOSTS and DOCS_ALLOWED_ORIGINS "
        "(comma-separated Host names and browser origins accepted besides loopback), PORT, "
        "PYTHONLOGLEVEL. See docs/docs_server.md, 'Security'.",
    )
    parser.add_argument(
        "-t",
        "--transport",
        choices=TRANSPORTS,
        default=DEFAULT_TRANSPORT,
        help=f"MCP transport (default: {DEFAULT_TRANSPORT})",
    )
    parser.add_argument(
        "-p",
        "--port",
        type=_port,
        default=None,
        help=f"HTTP port; overrides PORT (default: {DEFAULT_PORT}). Ignored for stdio.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"HTTP bind address (default: {DEFAULT_HOST}). A non-loopback address needs "
        f"DOCS_AUTH_TOKEN or {ALLOW_UNAUTHENTICATED_FLAG}.",
    )
    parser.add_argument(
        ALLOW_UNAUTHENTICATED_FLAG,
        dest="allow_unauthenticated",
        action="store_true",
        help="serve a non-loopback --host without DOCS_AUTH_TOKEN (only when something in "
        "front, such as a proxy, a private network or a loopback-only port publish, keeps "
        "strangers out; logs a warning at every start)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, configure logging and run the server."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = DocsSettings.from_env()
        setup_logging(settings.log_level)
        if args.transport != "stdio":  # the bind rules are irrelevant to stdio
            check_http_bind(settings, args.host, allow_unauthenticated=args.allow_unauthenticated)
    except ConfigError as exc:
        _exit_with(exc)
    sigterm_as_keyboard_interrupt()
    port = args.port if args.port is not None else settings.port
    try:
        _serve(args.transport, args.host, port, settings)
    except KeyboardInterrupt:
        _log.info("Docs server stopped.")


def _exit_with(exc: Exception) -> NoReturn:
    # A configuration problem is one line, not a usage dump; exit 2 like argparse does.
    print(f"{PROG}: {exc}", file=sys.stderr)
    raise SystemExit(2)

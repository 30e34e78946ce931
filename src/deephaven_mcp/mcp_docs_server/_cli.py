"""Command line entry point (``dh-mcp-docs-server``) and :func:`run_server`.

Logging goes to stderr through the package's redacting handler; stdout is left to the MCP
stdio protocol. Streamable-HTTP runs stateless so replicas behind a load balancer need no
session affinity.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from typing import Final, Literal, get_args

from deephaven_mcp._errors import ConfigError
from deephaven_mcp._logging import setup_logging
from deephaven_mcp._signals import sigterm_as_keyboard_interrupt
from deephaven_mcp.mcp_docs_server._server import build_docs_server
from deephaven_mcp.mcp_docs_server._settings import DocsSettings

Transport = Literal["streamable-http", "sse", "stdio"]
TRANSPORTS: Final[tuple[str, ...]] = get_args(Transport)
DEFAULT_TRANSPORT: Final = "streamable-http"
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8001

_log = logging.getLogger(__name__)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, got {port}")
    return port


def default_port(env: dict[str, str] | None = None) -> int:
    """``PORT`` from the environment, else 8001. Raises ``ValueError`` if malformed."""
    raw = (os.environ if env is None else env).get("PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return _port(raw)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"PORT: {exc}") from None


def run_server(
    transport: Transport = DEFAULT_TRANSPORT,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    settings: DocsSettings | None = None,
) -> None:
    """Build a docs server and serve it until interrupted (blocking)."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    server = build_docs_server(settings)
    if transport == "stdio":
        server.run("stdio", show_banner=False)
        return
    server.run(
        transport,
        show_banner=False,
        host=host,
        port=port if port is not None else default_port(),
        stateless_http=transport == "streamable-http",
        # None: uvicorn keeps its hands off logging, so its records reach our stderr handler.
        uvicorn_config={"log_config": None},
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dh-mcp-docs-server",
        description="MCP server answering Deephaven documentation questions (docs_chat).",
        epilog="Environment: INKEEP_API_KEY, INKEEP_BASE_URL, INKEEP_MODEL, OPENAI_API_KEY, "
        "OPENAI_BASE_URL, OPENAI_MODEL, DOCS_REQUEST_TIMEOUT, DOCS_MAX_RETRIES, PORT, "
        "PYTHONLOGLEVEL. See docs/docs_server.md.",
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
        help=f"HTTP bind address (default: {DEFAULT_HOST}; use 0.0.0.0 in containers).",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, configure logging and run the server."""
    parser = _parser()
    args = parser.parse_args(argv)
    setup_logging()
    try:
        settings = DocsSettings.from_env()
        port = args.port
        if port is None and args.transport != "stdio":  # PORT is irrelevant to stdio
            port = default_port()
    except (ConfigError, ValueError) as exc:
        parser.error(str(exc))
    sigterm_as_keyboard_interrupt()
    try:
        run_server(args.transport, host=args.host, port=port, settings=settings)
    except KeyboardInterrupt:
        _log.info("Docs server stopped.")

"""``dh-mcp-systems-server`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Final

from dotenv import load_dotenv

from deephaven_mcp._errors import ConfigError
from deephaven_mcp._logging import setup_logging
from deephaven_mcp._signals import sigterm_as_keyboard_interrupt
from deephaven_mcp.config import load_config

TRANSPORTS: Final = ("stdio", "sse", "streamable-http")
DEFAULT_PORT: Final = 8000

_log = logging.getLogger("deephaven_mcp.systems")


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError("port must be between 1 and 65535")
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dh-mcp-systems-server",
        description="MCP server for Deephaven Community Core workers and Enterprise systems.",
    )
    parser.add_argument("-t", "--transport", choices=TRANSPORTS, default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address")
    parser.add_argument(
        "-p",
        "--port",
        type=_port,
        default=None,
        help=f"HTTP port (default: $PORT or {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a local Deephaven worker with demo tables and register it as a session",
    )
    return parser.parse_args(argv)


def resolve_port(cli_port: int | None) -> int:
    if cli_port is not None:
        return cli_port
    env = os.environ.get("PORT")
    if env:
        try:
            return _port(env)
        except (ValueError, argparse.ArgumentTypeError):
            raise SystemExit(f"PORT={env!r} is not a valid port number") from None
    return DEFAULT_PORT


def main(argv: list[str] | None = None) -> None:
    """Entry point: validate config up front, then serve until interrupted."""
    load_dotenv(override=False)
    args = parse_args(argv)
    setup_logging()
    port = resolve_port(args.port)
    try:
        config = asyncio.run(load_config())
    except ConfigError as exc:
        print(f"dh-mcp-systems-server: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    from deephaven_mcp.mcp_systems_server._server import build_systems_server

    server = build_systems_server(config=config, demo=args.demo)
    _log.info("starting systems server (transport=%s)", args.transport)
    sigterm_as_keyboard_interrupt()
    try:
        if args.transport == "stdio":
            server.run("stdio", show_banner=False)
        else:
            # log_config=None: uvicorn logs through our stderr handler, not to stdout.
            server.run(
                args.transport,
                show_banner=False,
                host=args.host,
                port=port,
                uvicorn_config={"log_config": None},
            )
    except KeyboardInterrupt:
        _log.info("systems server stopped")

"""``dh-mcp-systems-server`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Final

from dotenv import load_dotenv

from deephaven_mcp.config import load_config
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.launchers import ensure_state_dir
from deephaven_mcp.mcp_systems_server._audit_stream import configure_audit_file
from deephaven_mcp.runtime.logging import setup_logging
from deephaven_mcp.serving.http_security import (
    ALLOW_UNAUTHENTICATED_FLAG,
    HttpExposure,
    check_bind,
    serve_http,
)
from deephaven_mcp.serving.process import (
    arrow_uses_the_system_allocator,
    collector_paused,
    return_large_blocks_to_the_system,
    sigterm_as_keyboard_interrupt,
)
from deephaven_mcp.serving.stdio import run_stdio
from deephaven_mcp.systems.settings import SystemsSettings

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
        help="HTTP port (default: $PORT or 8000)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a local Deephaven worker with demo tables and register it as a session",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="offer only tools that run no code and change nothing (overrides the "
        "configuration; security.read_only sets the same mode)",
    )
    parser.add_argument(
        ALLOW_UNAUTHENTICATED_FLAG,
        dest="allow_unauthenticated",
        action="store_true",
        help="serve a non-loopback --host without authentication (only behind something "
        "that authenticates every request; logs a warning at every start)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: validate config up front, then serve until interrupted."""
    # The working directory's .env, as documented (load_dotenv alone searches upwards from
    # this installed module, not from where the server was started).
    load_dotenv(Path.cwd() / ".env", override=False)
    args = parse_args(argv)
    return_large_blocks_to_the_system()  # table answers are large
    arrow_uses_the_system_allocator()
    http = args.transport != "stdio"
    try:
        settings = SystemsSettings.from_env()
        setup_logging(settings.log_level)
        config = asyncio.run(load_config(settings.config_file))
        ensure_state_dir(settings.state_dir)  # an unsafe state directory stops the start
        configure_audit_file(config.security.audit.path)  # an unsafe audit file does too
        exposure = HttpExposure.from_security(config.security.http) if http else HttpExposure()
        if http:
            check_bind(
                args.host,
                authenticated=exposure.auth is not None,
                allow_unauthenticated=args.allow_unauthenticated,
                how_to_authenticate="set security.http.auth in the configuration file; "
                "see docs/systems_server.md, 'Security'",
            )
    except ConfigError as exc:
        print(f"dh-mcp-systems-server: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    port = args.port if args.port is not None else settings.port

    from deephaven_mcp.mcp_systems_server._server import build_systems_server

    with collector_paused():  # building the tool schemas is start-up too
        server = build_systems_server(
            config=config,
            demo=args.demo,
            auth=exposure.auth,
            settings=settings,
            read_only=args.read_only,
        )
    _log.info("starting systems server (transport=%s)", args.transport)
    sigterm_as_keyboard_interrupt()
    try:
        if http:
            serve_http(server, args.transport, host=args.host, port=port, exposure=exposure)
        else:
            run_stdio(server)
    except KeyboardInterrupt:
        _log.info("systems server stopped")

#!/usr/bin/env python
"""Exercise the systems server's tools from the command line.

    # against a running streamable-http server
    uv run scripts/mcp_community_test_client.py --url http://127.0.0.1:8000/mcp
    # launch the server over stdio (here with its demo worker)
    uv run scripts/mcp_community_test_client.py --transport stdio \
        --stdio-cmd "uv run dh-mcp-systems-server --demo"
    # a server that requires a bearer token (read from the named variable, never argv)
    DH_MCP_TOKEN=... uv run scripts/mcp_community_test_client.py --token-env DH_MCP_TOKEN
    # with a config file
    uv run scripts/mcp_community_test_client.py --transport stdio \
        --env DH_MCP_CONFIG_FILE=/abs/path/deephaven_mcp.json

Lists the tools, then for each session: details, tables, schemas, a few rows and pip
packages. Exits non-zero if any call fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import SSETransport, StdioTransport, StreamableHttpTransport

DEFAULT_URLS = {"streamable-http": "http://127.0.0.1:8000/mcp", "sse": "http://127.0.0.1:8000/sse"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Call every systems-server tool once.")
    parser.add_argument(
        "--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http"
    )
    parser.add_argument("--url", default=None, help="server URL for HTTP transports")
    parser.add_argument(
        "--stdio-cmd",
        default="uv run dh-mcp-systems-server --transport stdio",
        help="command that starts the server for --transport stdio",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="env for the stdio server"
    )
    parser.add_argument("--rows", type=int, default=5, help="rows to fetch per table")
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        default=None,
        help="environment variable holding a bearer token for HTTP transports",
    )
    return parser.parse_args(argv)


def bearer_token(args: argparse.Namespace) -> str | None:
    if not args.token_env:
        return None
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        raise SystemExit(f"--token-env: environment variable {args.token_env} is empty or unset")
    return token


def make_transport(args: argparse.Namespace) -> Any:
    if args.transport == "stdio":
        env = dict(os.environ)
        for item in args.env:
            key, sep, value = item.partition("=")
            if not sep:
                raise SystemExit(f"--env expects KEY=VALUE, got {item!r}")
            env[key] = value
        command, *rest = shlex.split(args.stdio_cmd)
        return StdioTransport(command=command, args=rest, env=env)
    url = args.url or DEFAULT_URLS[args.transport]
    token = bearer_token(args)
    if args.transport == "sse":
        return SSETransport(url, auth=token)
    return StreamableHttpTransport(url, auth=token)


class Runner:
    def __init__(self, client: Client[Any]):
        self.client = client
        self.failures = 0

    async def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool_mcp(name, arguments)
        payload = result.structured_content or {}
        status = "ERROR" if result.is_error else "ok"
        text = json.dumps(payload, ensure_ascii=False, default=str)
        print(f"[{status}] {name}({json.dumps(arguments)}): {text[:600]}")
        if result.is_error:
            self.failures += 1
        return payload


async def run(args: argparse.Namespace) -> int:
    async with Client(make_transport(args), timeout=600) as client:
        tools = await client.list_tools()
        print(f"{len(tools)} tools: {', '.join(sorted(tool.name for tool in tools))}")
        runner = Runner(client)
        await runner.call("enterprise_systems_status")
        sessions = (await runner.call("sessions_list")).get("sessions", [])
        for session in sessions:
            sid = session["session_id"]
            details = await runner.call("session_details", session_id=sid, attempt_to_connect=True)
            if not details.get("session", {}).get("available"):
                continue
            tables = (await runner.call("session_tables_list", session_id=sid)).get(
                "table_names", []
            )
            if tables:
                await runner.call("session_tables_schema", session_id=sid, table_names=tables[:3])
                await runner.call(
                    "session_table_data", session_id=sid, table_name=tables[0], max_rows=args.rows
                )
            await runner.call(
                "session_script_run", session_id=sid, script="print('hello from MCP')"
            )
            if details["session"].get("programming_language") == "python":
                await runner.call("session_pip_list", session_id=sid)
        if not sessions:
            print("no sessions configured (set DH_MCP_CONFIG_FILE or start the server with --demo)")
        return 1 if runner.failures else 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

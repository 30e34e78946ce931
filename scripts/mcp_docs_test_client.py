"""Ask the docs server one question over any transport and print the answer.

A quick way to check a deployment without an MCP Inspector::

    uv run scripts/mcp_docs_test_client.py --prompt "What is Deephaven?"
    uv run scripts/mcp_docs_test_client.py --transport sse --prompt "What is Deephaven?"
    uv run scripts/mcp_docs_test_client.py --transport stdio --prompt "How do I create a table?" \
        --env INKEEP_API_KEY=... --env OPENAI_API_KEY=...
    DOCS_AUTH_TOKEN=... uv run scripts/mcp_docs_test_client.py --token-env DOCS_AUTH_TOKEN \
        --prompt "What is Deephaven?"

A server started with ``DOCS_AUTH_TOKEN`` wants that token as a bearer token: name the
environment variable holding it with ``--token-env`` (the token itself never goes on the
command line, where other users and shell history could see it).

The answer goes to stdout; diagnostics go to stderr. The exit status is 0 on success, 1
when the tool reports an error, 2 for bad arguments or an unreachable server.
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
from fastmcp.client.auth import BearerAuth
from fastmcp.client.transports import SSETransport, StdioTransport, StreamableHttpTransport

DEFAULT_URLS = {
    "streamable-http": "http://localhost:8001/mcp",
    "sse": "http://localhost:8001/sse",
}
DEFAULT_STDIO_CMD = "uv run dh-mcp-docs-server --transport stdio"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Call docs_chat on a Deephaven MCP docs server.")
    parser.add_argument(
        "--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http"
    )
    parser.add_argument(
        "--url",
        help="server URL (default: http://localhost:8001/mcp, or .../sse for --transport sse)",
    )
    parser.add_argument(
        "--stdio-cmd",
        default=DEFAULT_STDIO_CMD,
        help=f"command that starts a stdio server (default: {DEFAULT_STDIO_CMD!r})",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the stdio server (repeatable)",
    )
    parser.add_argument(
        "--token-env",
        metavar="NAME",
        help="send the bearer token held in environment variable NAME (e.g. DOCS_AUTH_TOKEN)",
    )
    parser.add_argument("--prompt", required=True, help="the question to ask")
    parser.add_argument("--history", help="earlier turns as a JSON list of {role, content}")
    parser.add_argument("--core-version", help="deephaven_core_version to send")
    parser.add_argument("--enterprise-version", help="deephaven_enterprise_version to send")
    parser.add_argument("--language", help="programming_language to send, e.g. python")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (300)")
    args = parser.parse_args(argv)
    if args.token_env and args.transport == "stdio":
        parser.error("--token-env applies to the HTTP transports only")
    return args


def bearer_from_env(name: str | None) -> BearerAuth | None:
    """The token in environment variable ``name`` as httpx auth; exits 2 if it is unset."""
    if not name:
        return None
    token = os.environ.get(name, "").strip()
    if not token:
        raise SystemExit(f"--token-env: environment variable {name} is not set or empty")
    return BearerAuth(token)


def build_transport(args: argparse.Namespace) -> Any:
    if args.transport == "stdio":
        command = shlex.split(args.stdio_cmd)
        if not command:
            raise SystemExit("--stdio-cmd is empty")
        env: dict[str, str] = {}
        for item in args.env:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise SystemExit(f"--env expects KEY=VALUE, got {key or item!r}")
            env[key] = value
        return StdioTransport(command=command[0], args=command[1:], env=env or None)
    url = args.url or DEFAULT_URLS[args.transport]
    auth = bearer_from_env(args.token_env)
    if args.transport == "sse":
        return SSETransport(url, auth=auth)
    return StreamableHttpTransport(url, auth=auth)


def build_arguments(args: argparse.Namespace) -> dict[str, Any]:
    arguments: dict[str, Any] = {"prompt": args.prompt}
    if args.history:
        try:
            arguments["history"] = json.loads(args.history)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"--history is not valid JSON: {exc}") from None
    optional = {
        "deephaven_core_version": args.core_version,
        "deephaven_enterprise_version": args.enterprise_version,
        "programming_language": args.language,
    }
    arguments.update({k: v for k, v in optional.items() if v})
    return arguments


async def run(args: argparse.Namespace) -> int:
    arguments = build_arguments(args)
    client = Client(build_transport(args), timeout=args.timeout)
    try:
        async with client:
            tools = [tool.name for tool in await client.list_tools()]
            print(f"Connected; tools: {', '.join(tools)}", file=sys.stderr)
            result = await client.call_tool(
                "docs_chat", arguments, raise_on_error=False, timeout=args.timeout
            )
    except Exception as exc:
        print(f"Could not talk to the docs server: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.transport != "stdio" and not args.token_env:
            print(
                "If the server sets DOCS_AUTH_TOKEN, pass --token-env DOCS_AUTH_TOKEN "
                "(with that variable set here too).",
                file=sys.stderr,
            )
        return 2
    payload = result.structured_content or {}
    if result.is_error or not payload.get("success"):
        error = payload.get("error") or " ".join(getattr(c, "text", "") for c in result.content)
        print(f"docs_chat failed: {error}", file=sys.stderr)
        return 1
    print(payload.get("response", ""))
    return 0


def main() -> None:
    sys.exit(asyncio.run(run(parse_args())))


if __name__ == "__main__":
    main()

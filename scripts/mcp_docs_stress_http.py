"""Load-test a running docs server's HTTP transport (streamable-http or SSE).

Opens ``--concurrency`` MCP client connections; each sends ``--requests-per-conn`` requests
one after another, optionally paced to ``--rps`` per connection. A request counts as an
error when it raises, returns an MCP error, or takes longer than ``--max-response-time``.
The run stops early once errors exceed ``--max-errors``. The last line is ``PASSED`` or
``FAILED: <reason>`` and the exit status matches (0 / 1).

    uv run scripts/mcp_docs_stress_http.py --concurrency 10 --requests-per-conn 100 \
        --url http://localhost:8001/mcp --max-errors 5 --rps 10 --max-response-time 2

Against a server started with ``DOCS_AUTH_TOKEN``, pass ``--token-env DOCS_AUTH_TOKEN``
(the name of the variable holding the token, never the token itself).

``--operation`` picks what each request does: ``list_tools`` (default; exercises the MCP
transport without provider cost), ``ping``, or ``docs_chat`` (a real question per request,
which is billed by the provider unless the server points at a local one).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from fastmcp.client.transports import SSETransport, StreamableHttpTransport

DEFAULT_URL = "http://localhost:8001/mcp"


@dataclass
class Stats:
    max_errors: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def error(self, message: str) -> None:
        self.errors.append(message)
        if len(self.errors) > self.max_errors:
            self.stop.set()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Stress test a docs server over HTTP.")
    parser.add_argument("--concurrency", type=int, default=100, help="connections (100)")
    parser.add_argument(
        "--requests-per-conn", type=int, default=100, help="requests per connection (100)"
    )
    parser.add_argument("--url", help=f"MCP endpoint, .../mcp or .../sse (default {DEFAULT_URL})")
    parser.add_argument("--sse-url", help="SSE endpoint; same as --url ending in /sse")
    parser.add_argument("--max-errors", type=int, default=5, help="errors tolerated (5)")
    parser.add_argument(
        "--rps", type=float, default=0.0, help="requests/second per connection (0 = no limit)"
    )
    parser.add_argument(
        "--max-response-time", type=float, default=1.0, help="seconds before a request is slow"
    )
    parser.add_argument(
        "--operation", choices=["list_tools", "ping", "docs_chat"], default="list_tools"
    )
    parser.add_argument("--prompt", default="What is a Deephaven table?", help="for docs_chat")
    parser.add_argument(
        "--token-env",
        metavar="NAME",
        help="send the bearer token held in environment variable NAME (e.g. DOCS_AUTH_TOKEN)",
    )
    args = parser.parse_args(argv)
    args.auth = None
    if args.token_env:
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            parser.error(f"--token-env: environment variable {args.token_env} is not set or empty")
        args.auth = BearerAuth(token)
    if args.url and args.sse_url:
        parser.error("give --url or --sse-url, not both")
    args.url = (args.url or args.sse_url or DEFAULT_URL).rstrip("/")
    if args.concurrency < 1 or args.requests_per_conn < 1:
        parser.error("--concurrency and --requests-per-conn must be at least 1")
    return args


def health_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


async def check_health(url: str) -> str | None:
    """None if /health answers ok, else a reason."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(health_url(url))
    except httpx.HTTPError as exc:
        return f"{health_url(url)} unreachable ({type(exc).__name__})"
    if response.status_code != 200 or response.json() != {"status": "ok"}:
        return f"{health_url(url)} answered HTTP {response.status_code}"
    return None


async def one_request(client: Client[Any], args: argparse.Namespace, index: int) -> None:
    if args.operation == "ping":
        await client.ping()
    elif args.operation == "list_tools":
        tools = await client.list_tools()
        if not any(tool.name == "docs_chat" for tool in tools):
            raise RuntimeError("docs_chat is not listed")
    else:
        result = await client.call_tool(
            "docs_chat", {"prompt": f"{args.prompt} ({index})"}, raise_on_error=False
        )
        if result.is_error:
            payload = result.structured_content or {}
            raise RuntimeError(f"docs_chat error: {payload.get('error', 'unknown')}")


async def connection(conn: int, args: argparse.Namespace, stats: Stats) -> None:
    transport: Any = (
        SSETransport(args.url, auth=args.auth)
        if args.url.endswith("/sse")
        else StreamableHttpTransport(args.url, auth=args.auth)
    )
    interval = 1.0 / args.rps if args.rps > 0 else 0.0
    try:
        async with Client(transport, timeout=max(30.0, args.max_response_time * 5)) as client:
            next_at = time.perf_counter()
            for i in range(args.requests_per_conn):
                if stats.stop.is_set():
                    return
                if interval:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                started = time.perf_counter()
                try:
                    await one_request(client, args, conn * args.requests_per_conn + i)
                except Exception as exc:
                    stats.error(f"conn {conn} request {i}: {type(exc).__name__}: {exc}"[:300])
                    continue
                elapsed = time.perf_counter() - started
                stats.latencies.append(elapsed)
                if elapsed > args.max_response_time:
                    stats.error(f"conn {conn} request {i}: slow response ({elapsed:.2f}s)")
    except Exception as exc:
        stats.error(f"conn {conn}: connection failed: {type(exc).__name__}: {exc}"[:300])


def percentile(sorted_values: list[float], pct: float) -> float:
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run(args: argparse.Namespace) -> int:
    reason = await check_health(args.url)
    if reason:
        print(f"FAILED: {reason}")
        return 1
    stats = Stats(max_errors=args.max_errors)
    started = time.perf_counter()
    await asyncio.gather(*(connection(c, args, stats) for c in range(args.concurrency)))
    wall = time.perf_counter() - started

    planned = args.concurrency * args.requests_per_conn
    done = len(stats.latencies)
    print(f"Target:      {args.url} ({args.operation})")
    print(f"Requests:    {done} completed of {planned} planned in {wall:.2f}s", end="")
    print(f" ({done / wall:.1f} req/s)" if wall > 0 else "")
    if stats.latencies:
        latencies = sorted(stats.latencies)
        print(
            "Latency (s): "
            + ", ".join(f"p{p} {percentile(latencies, p):.3f}" for p in (50, 90, 95, 99))
            + f", max {latencies[-1]:.3f}"
        )
    print(f"Errors:      {len(stats.errors)}")
    for message in stats.errors[:10]:
        print(f"  {message}")
    if len(stats.errors) > args.max_errors:
        print(f"FAILED: {len(stats.errors)} errors exceeded --max-errors {args.max_errors}")
        return 1
    if not done:  # e.g. every connection refused (HTTP 401 without --token-env)
        print("FAILED: no request completed")
        return 1
    print("PASSED")
    return 0


def main() -> None:
    sys.exit(asyncio.run(run(parse_args())))


if __name__ == "__main__":
    main()

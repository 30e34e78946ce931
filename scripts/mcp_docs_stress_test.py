"""Fire many concurrent docs_chat calls and report success rate, latency and throughput.

By default the server is built in-process with ``build_docs_server()`` from the
environment (a ``.env`` file in the current directory is read first), exactly as the
command-line server builds it, and driven through an in-memory MCP client. ``--url``
targets a running server over streamable-http (``.../mcp``) or SSE (``.../sse``) instead.

    uv run scripts/mcp_docs_stress_test.py                      # 100 concurrent requests
    uv run scripts/mcp_docs_stress_test.py --requests 500 --concurrency 50
    uv run scripts/mcp_docs_stress_test.py --url http://localhost:8001/mcp

A server started with ``DOCS_AUTH_TOKEN`` needs ``--token-env DOCS_AUTH_TOKEN`` with
``--url`` (the name of the variable holding the token, never the token itself). The
server answers at most ``DOCS_MAX_CONCURRENT_CHATS`` calls at once and queues the rest
briefly; calls it cannot fit in time fail with a "busy" error and count as failures.

Every request costs a provider call: point INKEEP_BASE_URL / OPENAI_BASE_URL at a local
OpenAI-compatible server to test without spending real tokens. Results (summary, every
latency and every error) are written as JSON to ``--output``. The exit status is 1 when
the success rate falls below ``--min-success-rate``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dotenv import find_dotenv, load_dotenv
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from fastmcp.client.transports import SSETransport, StreamableHttpTransport

DEFAULT_PROMPT = "How do I filter a Deephaven table to the rows where Price > 100?"


@dataclass
class Outcome:
    index: int
    ok: bool
    seconds: float
    error: str | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Concurrent docs_chat stress test.")
    parser.add_argument("--requests", type=int, default=100, help="total calls (100)")
    parser.add_argument(
        "--concurrency", type=int, default=0, help="calls in flight at once (0 = all of them)"
    )
    parser.add_argument("--url", help="running server URL; omit to build the server in-process")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--language", default="python", help="programming_language to send")
    parser.add_argument("--timeout", type=float, default=300.0, help="per-call timeout (300s)")
    parser.add_argument("--output", default="stress_test_results.json", help="JSON results file")
    parser.add_argument("--min-success-rate", type=float, default=100.0, help="percent (100)")
    parser.add_argument(
        "--token-env",
        metavar="NAME",
        help="with --url: send the bearer token held in environment variable NAME",
    )
    args = parser.parse_args(argv)
    if args.token_env and not args.url:
        parser.error("--token-env needs --url (an in-process server takes no token)")
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    if args.concurrency < 0:
        parser.error("--concurrency must not be negative")
    return args


def make_client(args: argparse.Namespace) -> Client[Any]:
    if args.url:
        url = args.url.rstrip("/")
        auth = None
        if args.token_env:
            token = os.environ.get(args.token_env, "").strip()
            if not token:
                raise SystemExit(f"--token-env: environment variable {args.token_env} is empty")
            auth = BearerAuth(token)
        transport = (
            SSETransport(url, auth=auth)
            if url.endswith("/sse")
            else StreamableHttpTransport(url, auth=auth)
        )
        return Client(transport, timeout=args.timeout)
    from deephaven_mcp.mcp_docs_server import build_docs_server
    from deephaven_mcp.runtime.logging import setup_logging

    setup_logging("WARNING")
    return Client(build_docs_server(), timeout=args.timeout)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def one_call(
    client: Client[Any], index: int, args: argparse.Namespace, gate: asyncio.Semaphore
) -> Outcome:
    arguments = {
        "prompt": f"{args.prompt} (request {index})",
        "programming_language": args.language,
    }
    async with gate:
        started = time.perf_counter()
        try:
            result = await client.call_tool(
                "docs_chat", arguments, raise_on_error=False, timeout=args.timeout
            )
        except Exception as exc:
            return Outcome(index, False, time.perf_counter() - started, f"{type(exc).__name__}")
        seconds = time.perf_counter() - started
    payload = result.structured_content or {}
    if result.is_error or not payload.get("success") or not payload.get("response"):
        return Outcome(index, False, seconds, str(payload.get("error", "error result"))[:300])
    return Outcome(index, True, seconds)


def summarise(outcomes: list[Outcome], wall: float, args: argparse.Namespace) -> dict[str, Any]:
    latencies = sorted(o.seconds for o in outcomes if o.ok)
    successes = len(latencies)
    summary: dict[str, Any] = {
        "target": args.url or "in-process build_docs_server()",
        "requests": len(outcomes),
        "concurrency": args.concurrency or len(outcomes),
        "successes": successes,
        "failures": len(outcomes) - successes,
        "success_rate_pct": round(100.0 * successes / len(outcomes), 2),
        "wall_seconds": round(wall, 3),
        "throughput_rps": round(len(outcomes) / wall, 2) if wall > 0 else None,
    }
    if latencies:
        summary["latency_seconds"] = {
            "min": round(latencies[0], 4),
            "mean": round(statistics.fmean(latencies), 4),
            "p50": round(percentile(latencies, 50), 4),
            "p90": round(percentile(latencies, 90), 4),
            "p95": round(percentile(latencies, 95), 4),
            "p99": round(percentile(latencies, 99), 4),
            "max": round(latencies[-1], 4),
        }
    summary["errors"] = dict(Counter(o.error for o in outcomes if not o.ok).most_common(10))
    return summary


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the calls; return the full results (summary plus every call)."""
    gate = asyncio.Semaphore(args.concurrency or args.requests)
    client = make_client(args)
    async with client:
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(one_call(client, i, args, gate) for i in range(args.requests))
        )
        wall = time.perf_counter() - started
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summarise(list(outcomes), wall, args),
        "calls": [asdict(o) for o in outcomes],
    }


def report(summary: dict[str, Any], output: str) -> None:
    print(f"Target:        {summary['target']}")
    print(f"Requests:      {summary['requests']} (concurrency {summary['concurrency']})")
    print(
        f"Success rate:  {summary['success_rate_pct']}% "
        f"({summary['successes']} ok, {summary['failures']} failed)"
    )
    print(f"Wall time:     {summary['wall_seconds']}s, {summary['throughput_rps']} req/s")
    latency = summary.get("latency_seconds")
    if latency:
        print(
            "Latency (s):   " + ", ".join(f"{name} {value:.3f}" for name, value in latency.items())
        )
    for error, count in summary["errors"].items():
        print(f"Error x{count}: {error}")
    print(f"Results:       {output}")


def main() -> None:
    args = parse_args()
    load_dotenv(find_dotenv(usecwd=True))
    results = asyncio.run(run(args))
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    summary = results["summary"]
    report(summary, args.output)
    sys.exit(0 if summary["success_rate_pct"] >= args.min_success_rate else 1)


if __name__ == "__main__":
    main()

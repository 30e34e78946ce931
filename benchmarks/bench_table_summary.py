#!/usr/bin/env python
"""session_table_summary of a 1,000,000-row table vs. a 1,000-row session_table_data read.

    uv run benchmarks/bench_table_summary.py [--repeat 5] [--port PORT]

Starts a worker (or uses the one at --port, creating the table there if missing), then calls
both tools through an in-process MCP client and prints, for each: the median latency, the
answer's size in bytes (the JSON text the client receives) and the ratios summary / read.
The summary describes every row of the table; the read shows 0.1% of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastmcp import Client
from pydeephaven import Session

from _worker import start
from deephaven_mcp.mcp_systems_server import build_systems_server

TABLE = "bench_summary"
ROWS = 1_000_000
SESSION_ID = "community:config:bench"
INIT = f"""
from deephaven import empty_table
{TABLE} = empty_table({ROWS}).update([
    "Id = (long) i",
    "Price = i % 1000 == 0 ? NULL_DOUBLE : 100.0 + (i % 977) / 7.0",
    "Qty = (int) (i % 5000)",
    "Sym = (new String[]{{`AAPL`, `MSFT`, `GOOG`, `AMZN`, `NVDA`}})[i % 5]",
    "Venue = `V` + (i % 20000)",
    "When = '2024-01-02T09:30:00 UTC' + i * 1_000_000L",
    "Flag = i % 3 == 0",
])
"""
SUMMARY = "session_table_summary"
# label -> (tool, arguments)
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    SUMMARY: (SUMMARY, {"session_id": SESSION_ID, "table_name": TABLE}),
    "1000 rows, csv": (
        "session_table_data",
        {"session_id": SESSION_ID, "table_name": TABLE, "max_rows": 1000, "format": "csv"},
    ),
    "1000 rows, json-row": (
        "session_table_data",
        {"session_id": SESSION_ID, "table_name": TABLE, "max_rows": 1000, "format": "json-row"},
    ),
}


def _config_for(port: int) -> Path:
    """A config file whose only session, community:config:bench, is the benchmark worker."""
    config = Path(tempfile.mkdtemp()) / "c.json"
    config.write_text(
        json.dumps({"community": {"sessions": {"bench": {"host": "127.0.0.1", "port": port}}}})
    )
    return config


async def _call(client: Client[Any], label: str) -> tuple[float, int]:
    """Seconds and response bytes (the JSON text the client receives) of one call."""
    tool, arguments = CALLS[label]
    started = time.perf_counter()
    result = await client.call_tool_mcp(tool, arguments)
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(f"{label}: {result.structured_content}")
    size = sum(len(block.text.encode("utf-8")) for block in result.content if block.type == "text")
    return elapsed, size


async def measure(port: int, repeat: int) -> None:
    async with Client(build_systems_server(str(_config_for(port))), timeout=600) as client:
        results: dict[str, tuple[float, int]] = {}
        for label in CALLS:
            await _call(client, label)  # warm up: connect, compile, JIT
            times, size = [], 0
            for _ in range(repeat):
                elapsed, size = await _call(client, label)
                times.append(elapsed)
            results[label] = (statistics.median(times), size)
    print(f"table {TABLE}: {ROWS:,} rows x 7 columns; median of {repeat} calls after a warm-up")
    print(f"{'call':<42} {'ms':>9} {'bytes':>10}")
    for label, (seconds, size) in results.items():
        name = label if label == SUMMARY else f"session_table_data ({label})"
        print(f"{name:<42} {seconds * 1000:>9.1f} {size:>10,}")
    summary_time, summary_size = results[SUMMARY]
    for label, (seconds, size) in results.items():
        if label != SUMMARY:
            print(
                f"summary / read ({label}): time x{summary_time / seconds:.2f}, "
                f"bytes x{summary_size / size:.3f}"
            )


def _ensure_table(port: int) -> None:
    session = Session(host="127.0.0.1", port=port)
    try:
        if TABLE not in session.tables:
            session.run_script(INIT)
    finally:
        session.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, help="use a running worker instead of starting one")
    args = parser.parse_args()
    if args.port is not None:
        _ensure_table(args.port)
        await measure(args.port, args.repeat)
        return
    worker, port = start(INIT)
    try:
        await measure(port, args.repeat)
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python
"""Rows into Python: DeephavenSystems.read_arrow vs. session_table_data + to_arrow / CSV.

    uv run benchmarks/bench_read_arrow.py [--rows 1000000] [--repeat 3] [--port PORT]

Starts a worker (or uses the one at --port, creating the table there if missing) and reads
the whole table into a pyarrow.Table three ways through the Python API: ``read_arrow`` (no
formatting), ``session_table_data(format="csv").to_arrow()`` (formatted too, rows kept),
and the old way, ``session_table_data(format="csv")`` parsed back with pyarrow's CSV
reader (types guessed). Prints the median seconds of each and the ratios to read_arrow.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable

import pyarrow as pa
import pyarrow.csv as pa_csv
from pydeephaven import Session

from _worker import start
from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config import McpConfig

TABLE = "bench_arrow"
SESSION_ID = "community:config:bench"


def _init(rows: int) -> str:
    return f"""
from deephaven import empty_table
{TABLE} = empty_table({rows}).update([
    "Id = (long) i",
    "Price = i % 1000 == 0 ? NULL_DOUBLE : 100.0 + (i % 977) / 7.0",
    "Sym = (new String[]{{`AAPL`, `MSFT`, `GOOG`, `AMZN`, `NVDA`}})[i % 5]",
    "When = '2024-01-02T09:30:00 UTC' + i * 1_000_000L",
])
"""


async def measure(port: int, rows: int, repeat: int) -> None:
    config = McpConfig.model_validate(
        {
            "community": {"sessions": {"bench": {"host": "127.0.0.1", "port": port}}},
            "limits": {"max_response_bytes": 1024**3},
        }
    )

    async with DeephavenSystems(config=config, read_only=True) as systems:

        async def arrow() -> pa.Table:
            return await systems.read_arrow(SESSION_ID, TABLE, max_rows=None)

        async def kept() -> pa.Table:
            page = await systems.session_table_data(SESSION_ID, TABLE, max_rows=None, format="csv")
            return page.to_arrow()

        async def parsed() -> pa.Table:
            page = await systems.session_table_data(SESSION_ID, TABLE, max_rows=None, format="csv")
            return pa_csv.read_csv(io.BytesIO(str(page.data).encode("utf-8")))

        ways: dict[str, Callable[[], Awaitable[pa.Table]]] = {
            "read_arrow": arrow,
            "session_table_data(csv).to_arrow()": kept,
            "session_table_data(csv) parsed as CSV": parsed,
        }
        medians: dict[str, float] = {}
        for label, way in ways.items():
            table = await way()  # warm up, and check the rows arrived
            assert table.num_rows == rows, (label, table.num_rows)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                await way()
                times.append(time.perf_counter() - started)
            medians[label] = statistics.median(times)
    print(f"table {TABLE}: {rows:,} rows x 4 columns; median of {repeat} reads after a warm-up")
    base = medians["read_arrow"]
    for label, seconds in medians.items():
        print(f"{label:<40} {seconds * 1000:>9.1f} ms   x{seconds / base:.2f}")


def _ensure_table(port: int, rows: int) -> None:
    session = Session(host="127.0.0.1", port=port)
    try:
        session.run_script(_init(rows))
    finally:
        session.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, help="use a running worker instead of starting one")
    args = parser.parse_args()
    if args.port is not None:
        _ensure_table(args.port, args.rows)
        await measure(args.port, args.rows, args.repeat)
        return
    worker, port = start(_init(args.rows))
    try:
        await measure(port, args.rows, args.repeat)
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == "__main__":
    asyncio.run(main())

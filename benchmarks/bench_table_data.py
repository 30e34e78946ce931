#!/usr/bin/env python
"""session_table_data latency vs. a raw pydeephaven fetch+format, and server peak RSS.

    uv run benchmarks/bench_table_data.py [--repeat 7]

Prints, for 1,000 and 100,000 rows in csv, markdown-table and json-row: the median tool
latency through an in-process MCP client, the median raw time for the same work done
directly (open table, head(n), to_arrow, format), and their ratio. Then starts the real
server as a subprocess and reports its peak RSS (VmHWM) across a max_rows=null request on a
1,000,000-row table. Targets: ratio <= 1.3 at 1,000 rows; peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from fastmcp import Client
from pydeephaven import Session

from _worker import start
from deephaven_mcp.formatting import format_table, formatted_size
from deephaven_mcp.mcp_systems_server import build_systems_server

TABLE = "bench_rows"
INIT = f"""
from deephaven import empty_table
{TABLE} = empty_table(1_000_000).update([
    "Id = (long) i",
    "Price = 100.0 + (i % 977) / 7.0",
    "Qty = (int) (i % 5000)",
    "Sym = (new String[]{{`AAPL`, `MSFT`, `GOOG`, `AMZN`, `NVDA`}})[i % 5]",
    "When = '2024-01-02T09:30:00 UTC' + i * 1_000_000L",
    "Flag = i % 3 == 0",
])
"""
ROWS = (1_000, 100_000)
FORMATS = ("csv", "markdown-table", "json-row")


def _config_for(port: int) -> Path:
    """A config file whose only session, community:config:bench, is the benchmark worker."""
    config = Path(tempfile.mkdtemp()) / "c.json"
    config.write_text(
        json.dumps({"community": {"sessions": {"bench": {"host": "127.0.0.1", "port": port}}}})
    )
    return config


def raw_fetch_format(session: Session, rows: int, fmt: str) -> int:
    table = session.open_table(TABLE)
    part = table.head(rows)
    try:
        data = format_table(part.to_arrow(), fmt)
        return formatted_size(data)
    finally:
        part.close()
        table.close()


async def tool_latency(client: Client[Any], rows: int, fmt: str) -> float:
    started = time.perf_counter()
    result = await client.call_tool_mcp(
        "session_table_data",
        {
            "session_id": "community:config:bench",
            "table_name": TABLE,
            "max_rows": rows,
            "format": fmt,
        },
    )
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(result.structured_content)
    return elapsed


async def latency_table(port: int, repeat: int) -> None:
    session = Session(host="127.0.0.1", port=port)
    config = _config_for(port)
    print(f"{'rows':>8} {'format':<15} {'tool ms':>9} {'raw ms':>9} {'ratio':>6}")
    async with Client(build_systems_server(str(config))) as client:
        for rows in ROWS:
            for fmt in FORMATS:
                await tool_latency(client, rows, fmt)  # warm both paths
                raw_fetch_format(session, rows, fmt)
                tool, raw = [], []
                for _ in range(repeat):
                    tool.append(await tool_latency(client, rows, fmt))
                    started = time.perf_counter()
                    await asyncio.to_thread(raw_fetch_format, session, rows, fmt)
                    raw.append(time.perf_counter() - started)
                t, r = statistics.median(tool), statistics.median(raw)
                print(f"{rows:>8} {fmt:<15} {t * 1000:>9.1f} {r * 1000:>9.1f} {t / r:>6.2f}")
    session.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


async def peak_rss(port: int) -> None:
    server = shutil.which("dh-mcp-systems-server")
    if server is None:
        raise SystemExit("dh-mcp-systems-server is not installed in this environment")
    config = _config_for(port)
    http_port = _free_port()
    env = dict(os.environ, DH_MCP_CONFIG_FILE=str(config), PYTHONLOGLEVEL="WARNING")
    process = subprocess.Popen(
        [server, "--transport", "streamable-http", "--port", str(http_port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{http_port}/mcp", timeout=600) as client:
            await client.call_tool_mcp(
                "session_tables_list", {"session_id": "community:config:bench"}
            )
            before = _vm_hwm_mb(process.pid)
            for fmt in ("csv", "markdown-table", "json-row"):
                started = time.perf_counter()
                result = await client.call_tool_mcp(
                    "session_table_data",
                    {
                        "session_id": "community:config:bench",
                        "table_name": TABLE,
                        "max_rows": None,
                        "format": fmt,
                    },
                )
                elapsed = time.perf_counter() - started
                content = result.structured_content or {}
                outcome = (
                    "refused: " + content.get("error", "")[:110]
                    if result.is_error
                    else f"{content.get('row_count')} rows"
                )
                print(f"max_rows=null {fmt:<15} {elapsed * 1000:7.0f} ms  {outcome}")
            after = _vm_hwm_mb(process.pid)
        print(
            f"server peak RSS (VmHWM): {before:.0f} MB after startup, {after:.0f} MB after the 1M-row requests (target < 300 MB)"
        )
    finally:
        process.terminate()
        process.wait(30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    worker, port = start(INIT)
    try:
        await latency_table(port, args.repeat)
        await peak_rss(port)
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == "__main__":
    asyncio.run(main())

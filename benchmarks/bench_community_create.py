#!/usr/bin/env python
"""Time from session_community_create to the first successful session_script_run.

    uv run benchmarks/bench_community_create.py [--runs 5] [--heap 1]

Uses the python launch method through an in-process MCP client and prints, per run, the
end-to-end time next to the worker's own start time (JVM + Deephaven server start, as the
worker bootstrap reports it), then the medians. Target: median end-to-end <= 6 s at 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastmcp import Client

from deephaven_mcp.mcp_systems_server import build_systems_server

READY_LINE = re.compile(r"ready on port \d+ after ([0-9.]+)s")


def _worker_start_seconds(state_dir: Path) -> float | None:
    for log in sorted(state_dir.glob("workers/*/*/worker.log")):
        match = READY_LINE.search(log.read_text(errors="replace"))
        if match:
            return float(match.group(1))
    return None


async def one_run(client: Client[Any], name: str, state_dir: Path) -> tuple[float, float | None]:
    started = time.perf_counter()
    created = await client.call_tool_mcp(
        "session_community_create", {"session_name": name, "auth_type": "Anonymous"}
    )
    if created.is_error:
        raise RuntimeError(created.structured_content)
    ran = await client.call_tool_mcp(
        "session_script_run", {"session_id": f"community:dynamic:{name}", "script": "x = 1"}
    )
    elapsed = time.perf_counter() - started
    if ran.is_error:
        raise RuntimeError(ran.structured_content)
    worker_seconds = _worker_start_seconds(state_dir)
    await client.call_tool_mcp("session_community_delete", {"session_name": name})
    return elapsed, worker_seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heap", type=float, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-create-"))
    state_dir = workdir / "state"
    os.environ["DH_MCP_STATE_DIR"] = str(state_dir)
    heap: int | float = int(args.heap) if float(args.heap).is_integer() else args.heap
    config = workdir / "c.json"
    config.write_text(
        json.dumps(
            {
                "community": {
                    "session_creation": {
                        "max_concurrent_sessions": 1,
                        "defaults": {"launch_method": "python", "heap_size_gb": heap},
                    }
                }
            }
        )
    )
    totals, workers = [], []
    async with Client(build_systems_server(str(config)), timeout=600) as client:
        for run in range(args.runs):
            total, worker = await one_run(client, f"bench{run}", state_dir)
            totals.append(total)
            if worker is not None:
                workers.append(worker)
            shown = f"{worker:.2f}" if worker is not None else "n/a"
            print(
                f"run {run + 1}: create -> first script {total:.2f} s; worker's own start {shown} s"
            )
    print(f"median create -> first script_run: {statistics.median(totals):.2f} s (target <= 6 s)")
    if workers:
        print(
            f"median worker self-reported start (JVM + server): {statistics.median(workers):.2f} s"
        )
        print(
            f"median MCP overhead: {statistics.median(totals) - statistics.median(workers):.2f} s"
        )


if __name__ == "__main__":
    asyncio.run(main())

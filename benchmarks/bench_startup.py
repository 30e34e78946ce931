#!/usr/bin/env python
"""Start-up side by side: this server vs deephaven-mcp 1.1.4 vs the fastmcp floor.

    uv run benchmarks/bench_startup.py [--repeat 7] [--peer-version 1.1.4] [--json out.json]

Installs the peer from PyPI into a throwaway venv (with uv), then times, for each side,
spawn -> ``initialize`` -> ``tools/list`` answered over stdio, with raw JSON-RPC so no client
library's cost is counted. The floor is ``python -c "from fastmcp import FastMCP;
FastMCP('x')"`` in this project's environment. Bytecode caches are warm on every side: each
command runs once before timing, with PYTHONDONTWRITEBYTECODE unset, as a user's Python
would. Prints medians and ratios measured in this one run; ``--json`` also writes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _peer import PEER_VERSION, peer_venv
from _stdio import FLOOR, server_env, this_server, time_command, time_to_tools_list


async def _median_startup(
    command: list[str], env: dict[str, str], cwd: Path, repeat: int
) -> tuple[float, int]:
    """Median spawn -> tools/list seconds after one warm-up run, and the tool count."""
    log = cwd / "server.log"  # stderr, quoted if a server fails
    await time_to_tools_list(command, env, cwd, log)  # warm-up
    runs = [await time_to_tools_list(command, env, cwd, log) for _ in range(repeat)]
    return statistics.median(seconds for seconds, _ in runs), runs[0][1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--peer-version", default=PEER_VERSION)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dh-mcp-bench-") as tmp:
        root = Path(tmp)
        config = root / "deephaven_mcp.json"
        # One static session: both servers accept it, and neither connects at start.
        config.write_text(
            json.dumps(
                {"community": {"sessions": {"local": {"host": "127.0.0.1", "port": 10000}}}}
            ),
            encoding="utf-8",
        )
        env = server_env(config)
        home = root / "home"
        home.mkdir()
        peer_bin = peer_venv(args.peer_version, root)
        peer = f"deephaven-mcp {args.peer_version}"
        sides: dict[str, tuple[list[str], dict[str, str]]] = {
            "this server": (this_server(), env),
            peer: ([str(peer_bin / "dh-mcp-systems-server")], server_env(config, home)),
        }

        results: dict[str, Any] = {"repeat": args.repeat, "seconds": {}, "tools": {}}
        time_command(FLOOR, env, root)  # warm the bytecode caches
        results["seconds"]["fastmcp floor"] = statistics.median(
            time_command(FLOOR, env, root) for _ in range(args.repeat)
        )
        for label, (command, side_env) in sides.items():
            seconds, tools = asyncio.run(_median_startup(command, side_env, root, args.repeat))
            results["seconds"][label] = seconds
            results["tools"][label] = tools

    seconds = results["seconds"]
    print(f"spawn -> tools/list over stdio, median of {args.repeat} (bytecode caches warm)")
    print(f"{'side':32} {'seconds':>8} {'tools':>6}")
    for label, value in seconds.items():
        tools = results["tools"].get(label, "")
        print(f"{label:32} {value:8.3f} {tools!s:>6}")
    ratios = {
        "this server / peer": seconds["this server"] / seconds[peer],
        "this server - floor (s)": seconds["this server"] - seconds["fastmcp floor"],
        "peer - floor (s)": seconds[peer] - seconds["fastmcp floor"],
    }
    results["ratios"] = ratios
    for label, value in ratios.items():
        print(f"{label:32} {value:8.3f}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

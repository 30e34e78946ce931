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
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROTOCOL = "2025-06-18"


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["DH_MCP_CONFIG_FILE"] = str(config)
    env["PYTHONLOGLEVEL"] = "WARNING"
    return env


def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def _reply(process: subprocess.Popen[str], request_id: int) -> dict[str, Any]:
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message = json.loads(line)
        if message.get("id") == request_id:
            return dict(message)


def time_to_tools_list(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Seconds from spawn to the tools/list answer, and how many tools it listed."""
    started = time.perf_counter()
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=cwd,
    ) as process:
        try:
            _send(
                process,
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": PROTOCOL,
                        "capabilities": {},
                        "clientInfo": {"name": "bench", "version": "0"},
                    },
                },
            )
            _reply(process, 1)
            _send(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            _send(process, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
            tools = _reply(process, 2)["result"]["tools"]
            elapsed = time.perf_counter() - started
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    return elapsed, len(tools)


def time_command(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def peer_venv(version: str, root: Path) -> Path:
    """A venv with deephaven-mcp==``version`` from PyPI; its bin directory."""
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to install the peer (pip install uv)")
    venv = root / f"deephaven-mcp-{version}"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            f"deephaven-mcp=={version}",
        ],
        check=True,
    )
    return venv / "bin"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--peer-version", default="1.1.4")
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
        env = _env(config)
        ours = shutil.which("dh-mcp-systems-server")
        if ours is None:
            raise SystemExit("run with `uv run` so dh-mcp-systems-server is on PATH")
        peer_bin = peer_venv(args.peer_version, root)
        sides: dict[str, list[str]] = {
            "this server": [ours],
            f"deephaven-mcp {args.peer_version}": [str(peer_bin / "dh-mcp-systems-server")],
        }
        floor = [sys.executable, "-c", "from fastmcp import FastMCP; FastMCP('x')"]

        results: dict[str, Any] = {"repeat": args.repeat, "seconds": {}, "tools": {}}
        time_command(floor, env, root)  # warm the bytecode caches
        results["seconds"]["fastmcp floor"] = statistics.median(
            time_command(floor, env, root) for _ in range(args.repeat)
        )
        for label, command in sides.items():
            time_to_tools_list(command, env, root)  # warm-up
            runs = [time_to_tools_list(command, env, root) for _ in range(args.repeat)]
            results["seconds"][label] = statistics.median(seconds for seconds, _ in runs)
            results["tools"][label] = runs[0][1]

    seconds = results["seconds"]
    peer = f"deephaven-mcp {args.peer_version}"
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

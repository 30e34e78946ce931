#!/usr/bin/env python
"""Run a local Deephaven Community worker with demo tables, for trying out the MCP server.

    uv run scripts/run_deephaven_test_server.py --table-group simple
    uv run scripts/run_deephaven_test_server.py --table-group all --port 10001 \
        --auth-token Deephaven123

Without --auth-token the worker accepts anonymous connections. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from deephaven_mcp.demo import TABLE_GROUPS, demo_script
from deephaven_mcp.launchers import worker_bootstrap


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--table-group", required=True, choices=[*TABLE_GROUPS, "all"], help="demo tables to create"
    )
    parser.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    parser.add_argument("--port", type=int, default=10000, help="port (default 10000)")
    parser.add_argument("--auth-token", default=None, help="pre-shared key; omit for anonymous")
    parser.add_argument("--heap", default="1g", help="JVM heap, e.g. 1g or 4g (default 1g)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="dh-test-server-")
    script = os.path.join(workdir, "tables.py")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(demo_script(args.table_group))
    if args.auth_token:
        os.environ[worker_bootstrap.PSK_ENV] = args.auth_token
        auth = f"PSK (browser: http://{args.host}:{args.port}/?psk={args.auth_token})"
    else:
        auth = f"anonymous (browser: http://{args.host}:{args.port}/)"
    print(
        f"Starting Deephaven on {args.host}:{args.port} with the '{args.table_group}' tables; "
        f"auth: {auth}. Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
    return worker_bootstrap.main(
        [
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--ready-file",
            os.path.join(workdir, "ready.json"),
            f"--jvm-arg=-Xmx{args.heap}",
            "--init-script",
            script,
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""This server vs the raw floor vs deephaven-mcp 1.1.4: one worker, one client, one run.

    .venv/bin/python benchmarks/bench_compare.py [--repeat 5] [--quick] [--out FILE]

Starts one Deephaven worker with the benchmark tables, installs the peer from PyPI into a
throwaway venv (uv), then drives both servers over stdio with the same raw JSON-RPC client.
Every number is the median of --repeat runs after a warm-up, and every answer is checked to
be a success envelope before it counts:

* start-up: spawn -> ``tools/list`` answered, and the fastmcp floor (warm bytecode caches);
* ``session_table_data``, 1,000 and 100,000 rows, each format, end to end (ours / peer), and
  in process, no transport (our ``read_shaped_slice`` + response envelope) against the raw
  floor (pydeephaven ``head(n).to_arrow()`` + ``pyarrow.csv``);
* a 10,000-row x 22-column mixed-type table as csv; 16 concurrent 10,000-row csv reads on
  one connection (wall time);
* a 1,000,000-row csv request (``max_rows=null``): latency and the server's peak RSS (VmHWM
  of a fresh server per run), and ours with 4 such calls at once; on bench_rows (its csv is
  over the 50 MB response limit, so this measures a refusal) and on a 3-column table whose
  csv fits (a real 1,000,000-row answer).

Prints one table (metric, ours, peer, floor, ratio, target, pass mark; a failing cell shows
its error, listed in full below) and writes every number, the machine, the versions and the
time to --out (default benchmarks/results/compare.json). ``--quick``: 2 repeats, no
1,000,000-row cases.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import pyarrow.csv as pacsv
from pydeephaven import Session

from _peer import PEER_VERSION, installed_version, peer_venv
from _stdio import (
    FLOOR,
    StdioServer,
    server_env,
    this_server,
    time_command,
    time_to_tools_list,
    tool_payload,
    vm_hwm_mb,
)
from _worker import start
from bench_table_data import INIT, TABLE
from deephaven_mcp.clients.table_data import read_shaped_slice
from deephaven_mcp.model.requests import TableRead
from deephaven_mcp.serving.envelope import ok

SESSION: Final = "community:config:bench"
WIDE: Final = "bench_wide"
WIDE_ROWS: Final = 10_000
WIDE_INIT: Final = f"""
from deephaven import empty_table
{WIDE} = empty_table({WIDE_ROWS}).update([
    "Id = (long) i",
    "Qty = (int) (i % 5000)",
    "Lot = (short) (i % 100)",
    "Tier = (byte) (i % 8)",
    "Price = 100.0 + (i % 977) / 7.0",
    "Root = Math.sqrt(i)",
    "Ratio = (float) (i / 3.0)",
    "Sym = (new String[]{{`AAPL`, `MSFT`, `GOOG`, `AMZN`, `NVDA`}})[i % 5]",
    "Note = i % 7 == 0 ? null : `note ` + i",
    'Label = `say, "hi" ` + (i % 13)',
    "Flag = i % 3 == 0",
    "When = '2024-01-02T09:30:00 UTC' + i * 1_000_000_000L",
    "Settle = '2024-01-04T16:00:00 UTC' + i * 60_000_000_000L",
    "Letter = (char) (65 + i % 26)",
    "MaybePx = i % 5 == 0 ? NULL_DOUBLE : i * 1.25",
    "MaybeQty = i % 3 == 0 ? NULL_LONG : (long) i * 7",
    "Bid = Price - 0.01",
    "Ask = Price + 0.01",
    "Venue = (new String[]{{`NYSE`, `NASDAQ`, `ARCA`}})[i % 3]",
    "Seq = (int) (i * 7 % 10_007)",
    "Notional = (long) i * 1_000_003L",
    "Change = (i % 2 == 0 ? -1.0 : 1.0) * (i % 100) / 3.0",
])
"""
#: 1,000,000 rows whose csv fits the 50 MB response limit (bench_rows' does not).
NARROW: Final = "bench_narrow"
NARROW_INIT: Final = f"""
{NARROW} = empty_table(1_000_000).update([
    "Id = (long) i",
    "Qty = (int) (i % 5000)",
    "Sym = (new String[]{{`AAPL`, `MSFT`, `GOOG`, `AMZN`, `NVDA`}})[i % 5]",
])
"""
FORMATS: Final = ("json-row", "json-column", "csv", "markdown-table", "markdown-kv", "yaml", "xml")
ROWS: Final = (1_000, 100_000)
CONCURRENT: Final = 16
CONCURRENT_ROWS: Final = 10_000
BIG_CONCURRENT: Final = 4
CALL_TIMEOUT: Final = 300.0
BIG_TIMEOUT: Final = 900.0
IN_PROCESS_TARGETS: Final = {"csv": 2.0, "markdown-table": 2.0, "json-row": 3.0, "json-column": 3.0}
E2E_CSV_TARGET: Final = 1.25
RSS_TARGET_MB: Final = 300.0

#: A measured number (seconds or MB), an error text, or None (not measured).
Value = float | str | None
Measure = Callable[[], Awaitable[float]]


@dataclass
class Row:
    """One line of the report: ``ratio`` is ours / ``ratio_of`` ("peer" or "floor")."""

    metric: str
    unit: str  # "s" (printed as ms) or "MB"
    ours: Value = None
    peer: Value = None
    floor: Value = None
    ratio_of: str = ""
    target: float | None = None
    target_on: str = "ratio"  # or "ours": the target bounds ours itself
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        other = {"peer": self.peer, "floor": self.floor}.get(self.ratio_of)
        if isinstance(self.ours, float) and isinstance(other, float) and other > 0:
            return self.ours / other
        return None

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        value = self.ratio if self.target_on == "ratio" else self.ours
        return isinstance(value, float) and value <= self.target

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "passed": self.passed}


def _error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "format" in text.lower() and ("invalid" in text.lower() or "unknown" in text.lower()):
        return "n/a: " + text
    return text


async def interleave(
    repeat: int, measures: dict[str, Measure]
) -> dict[str, tuple[Value, list[float]]]:
    """Median seconds of each measure: one warm-up round, then ``repeat`` rounds, interleaved
    so drift hits every side alike. A measure that fails keeps its error text instead."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    errors: dict[str, str] = {}
    for round_ in range(repeat + 1):
        for name, measure in measures.items():
            if name in errors:
                continue
            try:
                seconds = await measure()
            except Exception as exc:
                errors[name] = _error(exc)
                continue
            if round_:
                samples[name].append(seconds)
    return {
        name: (errors[name] if name in errors else statistics.median(samples[name]), samples[name])
        for name in measures
    }


def _args(table: str, rows: int | None, fmt: str) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "table_name": table,
        "max_rows": rows,
        "head": True,
        "format": fmt,
    }


class Side:
    """One server kept running across measurements; restarted after any failed call."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], root: Path) -> None:
        self.name, self.command, self.env, self.root = name, command, env, root
        self.server: StdioServer | None = None
        self.sizes: dict[str, int] = {}

    async def fresh(self) -> StdioServer:
        """A new server process, initialized and connected to the session."""
        server = StdioServer(self.command, self.env, self.root, self.root / f"{self.name}.log")
        await server.start()
        try:
            await server.initialize()
            reply = await server.call_tool(
                "session_table_data", _args(TABLE, 10, "csv"), CALL_TIMEOUT
            )
            tool_payload(reply.message["result"])
        except BaseException:
            await server.close()
            raise
        return server

    async def get(self) -> StdioServer:
        if self.server is None:
            self.server = await self.fresh()
        return self.server

    async def reset(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.close()

    def measure(self, table: str, rows: int | None, fmt: str, count: int = 1) -> Measure:
        """Seconds for ``count`` session_table_data calls at once (the clock stops when the
        last answer is parsed; the envelopes are checked after)."""

        async def run() -> float:
            server = await self.get()
            try:
                seconds, size = await burst(server, count, _args(table, rows, fmt), CALL_TIMEOUT)
            except Exception:
                await self.reset()
                raise
            self.sizes[f"{table}/{rows}/{fmt}/x{count}"] = size
            return seconds

        return run


async def burst(
    server: StdioServer, count: int, arguments: dict[str, Any], timeout: float
) -> tuple[float, int]:
    """Wall seconds for ``count`` concurrent calls, and the bytes of one answer."""
    started = time.perf_counter()
    calls = [server.call_tool("session_table_data", arguments, timeout) for _ in range(count)]
    replies = await asyncio.gather(*calls, return_exceptions=True)
    answers = [r for r in replies if not isinstance(r, BaseException)]
    failures = [r for r in replies if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    elapsed = max(r.at for r in answers) - started
    for reply in answers:
        tool_payload(reply.message["result"])
    return elapsed, answers[0].size


def in_process(session: Session, table: str, rows: int, fmt: str) -> float:
    """Seconds for our blocking read path plus the response envelope, built as the tool's
    ``as_envelope`` builds it (no transport)."""
    started = time.perf_counter()
    result = read_shaped_slice(session, TableRead(table, max_rows=rows, head=True, fmt=fmt))
    ok(result.encoded_fields(), **result.envelope_fields())
    return time.perf_counter() - started


def raw_floor(session: Session, table: str, rows: int) -> float:
    """Seconds for the least the job takes: head(n).to_arrow() + pyarrow csv."""
    started = time.perf_counter()
    source = session.open_table(table)
    part = source.head(rows)
    try:
        pacsv.write_csv(part.to_arrow(), io.BytesIO())
        return time.perf_counter() - started
    finally:
        part.close()
        source.close()


def threaded(fn: Callable[[], float]) -> Measure:
    """A blocking measure run in a thread, bounded by CALL_TIMEOUT."""

    async def run() -> float:
        return await asyncio.wait_for(asyncio.to_thread(fn), CALL_TIMEOUT)

    return run


@dataclass
class BigRun:
    """One fresh server answering the 1,000,000-row request(s)."""

    seconds: Value
    peak_mb: Value
    base_mb: Value


async def big_run(side: Side, table: str, count: int) -> BigRun:
    """``count`` max_rows=null csv calls at once on a fresh server; its VmHWM after."""
    try:
        server = await side.fresh()
    except Exception as exc:
        return BigRun(_error(exc), None, None)
    try:
        base = _hwm(server)
        seconds: Value
        try:
            seconds, _ = await burst(server, count, _args(table, None, "csv"), BIG_TIMEOUT)
        except Exception as exc:
            seconds = _error(exc)
        return BigRun(seconds, _hwm(server), base)
    finally:
        await server.close()


def _hwm(server: StdioServer) -> Value:
    """The server's VmHWM in MB, or why it could not be read."""
    try:
        return vm_hwm_mb(server.pid)
    except Exception as exc:
        return f"no VmHWM (server gone?): {_error(exc)}"


def _summarize(runs: list[BigRun]) -> tuple[Value, Value, dict[str, Any]]:
    """Median seconds (or the first error) and the largest peak RSS over the runs."""
    seconds = [r.seconds for r in runs if isinstance(r.seconds, float)]
    errors = [r.seconds for r in runs if isinstance(r.seconds, str)]
    peaks = [r.peak_mb for r in runs if isinstance(r.peak_mb, float)]
    latency: Value = errors[0] if errors else statistics.median(seconds) if seconds else None
    peak: Value = max(peaks) if peaks else None
    if peak is None:
        reasons = [r.peak_mb for r in runs if isinstance(r.peak_mb, str)] + errors
        peak = reasons[0] if reasons else None
    return latency, peak, {"runs": [asdict(r) for r in runs]}


async def big_reads(sides: list[Side], repeat: int, peer_error: str, rows_out: list[Row]) -> None:
    """The 1,000,000-row csv answers: each side alone, then ours with several at once."""
    ours = sides[0]
    for table, what in ((TABLE, "1M-row csv"), (NARROW, "1M x 3-col csv")):
        for count in (1, BIG_CONCURRENT):
            tag = what if count == 1 else f"{what} x{count} at once"
            print(f"{tag} ...", flush=True)
            results: dict[str, tuple[Value, Value, dict[str, Any]]] = {}
            for side in sides if count == 1 else [ours]:
                runs = [await big_run(side, table, count) for _ in range(repeat)]
                results[side.name] = _summarize(runs)
            peer: tuple[Value, Value, dict[str, Any]] = (None, None, {})
            if count == 1:
                peer = results.get("peer", (peer_error, peer_error, {}))
            extra = {name: r[2] for name, r in results.items()}
            rows_out.append(
                Row(
                    f"{tag}: latency" if count == 1 else f"{tag}: wall",
                    "s",
                    results["ours"][0],
                    peer[0],
                    ratio_of="peer",
                    extra=extra,
                )
            )
            rows_out.append(
                Row(
                    f"{tag}: server peak RSS",
                    "MB",
                    results["ours"][1],
                    peer[1],
                    ratio_of="peer",
                    target=RSS_TARGET_MB,
                    target_on="ours",
                )
            )


async def bench(
    args: argparse.Namespace, root: Path, rows_out: list[Row], meta: dict[str, Any]
) -> None:
    """Every measurement, appended to ``rows_out`` as it completes."""
    repeat = args.repeat
    home = root / "home"
    home.mkdir()
    peer_bin: Path | None = None
    peer_error = ""
    try:
        peer_bin = peer_venv(args.peer_version, root)
        meta["versions"]["peer"] = installed_version(peer_bin, "deephaven-mcp")
        meta["versions"]["peer pydeephaven"] = installed_version(peer_bin, "pydeephaven")
    except (Exception, SystemExit) as exc:
        peer_error = f"peer not installed: {exc}"

    print("starting a Deephaven worker ...", flush=True)
    worker, port = start(INIT + WIDE_INIT + NARROW_INIT)
    session: Session | None = None
    sides: list[Side] = []
    try:
        config = root / "deephaven_mcp.json"
        config.write_text(
            json.dumps({"community": {"sessions": {"bench": {"host": "127.0.0.1", "port": port}}}}),
            encoding="utf-8",
        )
        ours = Side("ours", this_server(), server_env(config), root)
        sides.append(ours)
        peer: Side | None = None
        if peer_bin is not None:
            peer_command = [str(peer_bin / "dh-mcp-systems-server")]
            peer = Side("peer", peer_command, server_env(config, home), root)
            sides.append(peer)

        def peer_value(results: dict[str, tuple[Value, list[float]]]) -> Value:
            return results["peer"][0] if peer is not None else peer_error

        def both(table: str, rows: int | None, fmt: str, count: int = 1) -> dict[str, Measure]:
            measures = {"ours": ours.measure(table, rows, fmt, count)}
            if peer is not None:
                measures["peer"] = peer.measure(table, rows, fmt, count)
            return measures

        # 1. Start-up.
        print("start-up ...", flush=True)

        def startup(side: Side) -> Measure:
            async def run() -> float:
                seconds, tools = await time_to_tools_list(
                    side.command, side.env, root, root / f"{side.name}-startup.log"
                )
                meta.setdefault("tools", {})[side.name] = tools
                return seconds

            return run

        measures = {side.name: startup(side) for side in sides}
        measures["floor"] = threaded(lambda: time_command(FLOOR, server_env(config), root))
        got = await interleave(repeat, measures)
        rows_out.append(
            Row(
                "start-up: spawn -> tools/list",
                "s",
                got["ours"][0],
                peer_value(got),
                got["floor"][0],
                "peer",
                samples={k: v[1] for k, v in got.items()},
            )
        )

        # 2. session_table_data: end to end, and in process vs the raw floor.
        session = dh = Session(host="127.0.0.1", port=port)
        for rows in ROWS:
            for fmt in FORMATS:
                print(f"session_table_data {rows:,} rows {fmt} ...", flush=True)
                measures = both(TABLE, rows, fmt)
                measures["in-process"] = threaded(partial(in_process, dh, TABLE, rows, fmt))
                measures["floor"] = threaded(partial(raw_floor, dh, TABLE, rows))
                got = await interleave(repeat, measures)
                label = f"{fmt} {rows // 1000}k rows"
                samples = {k: v[1] for k, v in got.items()}
                rows_out.append(
                    Row(
                        f"e2e {label}",
                        "s",
                        got["ours"][0],
                        peer_value(got),
                        ratio_of="peer",
                        target=E2E_CSV_TARGET if (fmt, rows) == ("csv", 100_000) else None,
                        samples={k: samples[k] for k in ("ours", "peer") if k in samples},
                        extra={
                            "bytes": {
                                s.name: s.sizes.get(f"{TABLE}/{rows}/{fmt}/x1") for s in sides
                            }
                        },
                    )
                )
                rows_out.append(
                    Row(
                        f"in-process {label}",
                        "s",
                        got["in-process"][0],
                        floor=got["floor"][0],
                        ratio_of="floor",
                        target=IN_PROCESS_TARGETS.get(fmt) if rows == 100_000 else None,
                        samples={k: samples[k] for k in ("in-process", "floor")},
                    )
                )

        # 3. Wide table, 4. concurrent reads.
        print("wide table ...", flush=True)
        got = await interleave(repeat, both(WIDE, WIDE_ROWS, "csv"))
        rows_out.append(
            Row(
                f"e2e csv {WIDE_ROWS // 1000}k rows x 22 cols",
                "s",
                got["ours"][0],
                peer_value(got),
                ratio_of="peer",
                samples={k: v[1] for k, v in got.items()},
            )
        )
        print(f"{CONCURRENT} concurrent reads ...", flush=True)
        got = await interleave(repeat, both(TABLE, CONCURRENT_ROWS, "csv", CONCURRENT))
        rows_out.append(
            Row(
                f"{CONCURRENT} concurrent csv {CONCURRENT_ROWS // 1000}k-row reads (wall)",
                "s",
                got["ours"][0],
                peer_value(got),
                ratio_of="peer",
                samples={k: v[1] for k, v in got.items()},
            )
        )
        for side in sides:
            await side.reset()

        # 5. 1,000,000 rows: fresh servers, latency and peak RSS.
        if not args.quick:
            await big_reads(sides, repeat, peer_error, rows_out)
    finally:
        for side in sides:
            await side.reset()
        if session is not None:
            session.close()
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(30)


def _cell(value: Value, unit: str, notes: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value * 1000:.1f}" if unit == "s" else f"{value:.0f}"
    if value.startswith("n/a"):
        return "n/a"
    notes.append(value)
    return f"error[{len(notes)}]"


def report(rows: list[Row], repeat: int) -> str:
    """The printed table: times in ms, memory in MB; errors as footnotes."""
    notes: list[str] = []
    lines = [
        f"median of {repeat} (after a warm-up); times in ms, memory in MB; ratio = ours/peer "
        "(e2e, start-up, 1M rows) or ours/floor (in-process)",
        f"{'metric':44} {'ours':>9} {'peer':>9} {'floor':>9} {'ratio':>6} {'target':>7}  ok",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        target = ""
        if row.target is not None:
            target = f"<={row.target:g}" + ("x" if row.target_on == "ratio" else "MB")
        mark = {None: "", True: "✓", False: "✗"}[row.passed]
        lines.append(
            f"{row.metric:44} {_cell(row.ours, row.unit, notes):>9} "
            f"{_cell(row.peer, row.unit, notes):>9} {_cell(row.floor, row.unit, notes):>9} "
            f"{ratio:>6} {target:>7}  {mark}"
        )
    lines += [f"[{n}] {text}" for n, text in enumerate(notes, 1)]
    return "\n".join(lines)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_head() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per cell (median)")
    parser.add_argument("--quick", action="store_true", help="2 repeats, no 1M-row cases")
    parser.add_argument("--peer-version", default=PEER_VERSION)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "compare.json"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = min(args.repeat, 2)
    meta: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repeat": args.repeat,
        "quick": args.quick,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "versions": {
            "ours": f"{_version('deephaven-mcp')} ({_git_head()})",
            "deephaven-server": _version("deephaven-server"),
            "pydeephaven": _version("pydeephaven"),
            "pyarrow": _version("pyarrow"),
            "fastmcp": _version("fastmcp"),
        },
    }
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dh-mcp-compare-") as tmp:
        try:
            asyncio.run(bench(args, Path(tmp), rows, meta))
        finally:
            meta["wall_seconds"] = round(time.perf_counter() - started, 1)
            print(report(rows, args.repeat))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            payload = {**meta, "rows": [row.as_json() for row in rows]}
            args.out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
            print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""What the worker sandbox costs: python-worker launch time with bubblewrap and without.

    uv run benchmarks/bench_sandbox.py [--repeat 3]

Launches a 1 GB python worker ``--repeat`` times with ``sandbox: "required"`` and with
``"off"``, alternating, and prints each mode's median seconds from the ``launch_worker``
call until a real client connection succeeded, then the ratio. Needs Java and ``bwrap``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from deephaven_mcp.launchers import InstanceTracker, LaunchRequest, launch_worker

MODES = ("required", "off")


async def _launch_seconds(tracker: InstanceTracker, mode: str, index: int) -> float:
    request = LaunchRequest(
        session_name=f"bench-{mode}-{index}",
        launch_method="python",
        heap_size_gb=1,
        startup_retries=0,
        sandbox=mode,  # type: ignore[arg-type]  # one of MODES
    )
    worker = await launch_worker(request, tracker)
    try:
        return worker.startup_seconds
    finally:
        await worker.stop()


async def _run(repeat: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as state:
        tracker = InstanceTracker(Path(state) / "state")
        await tracker.start()
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        try:
            await _launch_seconds(tracker, "off", -1)  # warm-up: caches, JIT archive
            for index in range(repeat):
                for mode in MODES:
                    times[mode].append(await _launch_seconds(tracker, mode, index))
        finally:
            await tracker.shutdown()
        return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if shutil.which("bwrap") is None:
        print("bwrap is not installed (apt-get install bubblewrap)", file=sys.stderr)
        return 2
    times = asyncio.run(_run(args.repeat))
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    for mode in MODES:
        runs = ", ".join(f"{value:.2f}" for value in times[mode])
        print(f"sandbox={mode:<9} median {medians[mode]:.2f} s  (runs: {runs})")
    print(f"ratio sandboxed/unsandboxed: {medians['required'] / medians['off']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

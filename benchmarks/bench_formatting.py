"""Time every table format on 1,000 and 100,000 rows of a typical five-column table.

Run with ``uv run python benchmarks/bench_formatting.py``. Prints, per format, the best of a
few runs of ``format_table`` and of ``formatted_size`` (the JSON encoding the response pays for),
plus the encoded size, so regressions in the per-cell work are easy to spot, and checks
the budget that shaped the design: 100,000 rows as csv or json-column in under 0.5 s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial

import pyarrow as pa

from deephaven_mcp.formatting import EXPLICIT_FORMATS, format_table, formatted_size

ROW_COUNTS = (1_000, 100_000)
REPEATS = 3
BUDGET_ROWS = 100_000
BUDGET_SECONDS = 0.5
BUDGET_FORMATS = ("csv", "json-column")
_EPOCH_2024_NS = 1_704_067_200_000_000_000


def sample_table(rows: int, seed: int = 7) -> pa.Table:
    """Int, double, string, timestamp and bool columns, with a few nulls and awkward strings."""
    rng = random.Random(seed)
    words = ["AAPL", "MSFT", 'say, "hi"', "a|b", "line\nbreak", "Zoë", "北京", ""]
    return pa.table(
        {
            "Id": pa.array(range(rows), pa.int64()),
            "Price": pa.array([None if i % 97 == 0 else rng.uniform(1, 500) for i in range(rows)]),
            "Sym": pa.array([None if i % 89 == 0 else rng.choice(words) for i in range(rows)]),
            "When": pa.array(
                [_EPOCH_2024_NS + i * 1_000_000_123 for i in range(rows)],
                pa.timestamp("ns", tz="UTC"),
            ),
            "Flag": pa.array([None if i % 83 == 0 else i % 2 == 0 for i in range(rows)]),
        }
    )


def best_seconds(action: Callable[[], object]) -> float:
    """The fastest of ``REPEATS`` runs: the least disturbed by the rest of the machine."""
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> int:
    print(f"{'rows':>8}  {'format':<15} {'format_table':>13} {'formatted_size':>15} {'bytes':>12}")
    budget: dict[str, float] = {}
    for rows in ROW_COUNTS:
        table = sample_table(rows)
        for fmt in EXPLICIT_FORMATS:
            data = format_table(table, fmt)
            format_seconds = best_seconds(partial(format_table, table, fmt))
            size_seconds = best_seconds(partial(formatted_size, data))
            print(
                f"{rows:>8}  {fmt:<15} {format_seconds * 1000:>10.1f} ms"
                f" {size_seconds * 1000:>12.1f} ms {formatted_size(data):>12,}"
            )
            if rows == BUDGET_ROWS and fmt in BUDGET_FORMATS:
                budget[fmt] = format_seconds
    print(f"\nbudget: {BUDGET_ROWS:,} rows in under {BUDGET_SECONDS} s")
    for fmt, seconds in budget.items():
        verdict = "ok" if seconds < BUDGET_SECONDS else "OVER BUDGET"
        print(f"  {fmt:<12} {seconds:.3f} s  ({seconds / BUDGET_SECONDS:.2f} of budget) {verdict}")
    return 0 if all(seconds < BUDGET_SECONDS for seconds in budget.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Python snippets that build demo tables inside a Deephaven worker.

The snippets run in the worker's own Python (not in the MCP server), so they may import
``deephaven``. They are plain strings so that any process holding a pydeephaven session, or
the worker bootstrap, can run them.
"""

from __future__ import annotations

from typing import Final

_SIMPLE: Final = """
from deephaven import empty_table, new_table
from deephaven.column import string_col, int_col, double_col, bool_col
from deephaven.constants import NULL_INT, NULL_DOUBLE

simple_numbers = empty_table(100).update([
    "Id = i",
    "Square = (long) i * i",
    "Half = i / 2.0",
    "Label = `row_` + i",
    "Even = i % 2 == 0",
])

simple_people = new_table([
    string_col("Name", ["Ada", "Grace", "Linus", "Zoë", "李雷"]),
    int_col("Age", [36, 85, 54, 29, 31]),
    string_col("City", ["London", "New York", "Helsinki", "Zürich", "北京"]),
])

# Values that trip up naive formatters: nulls, NaN, unicode, newlines, pipes, quotes,
# commas and markup characters.
simple_awkward = new_table([
    string_col("Text", [
        "plain", None, "a|b", "line1\\nline2", 'say "hi", ok', "<&>", "ünï¢ødé ✓", "",
    ]),
    int_col("Count", [1, NULL_INT, 3, 4, 5, 6, 7, 8]),
    double_col("Value", [
        1.5, NULL_DOUBLE, float("nan"), float("inf"), float("-inf"), 0.0, -2.25, 1e300,
    ]),
    bool_col("Flag", [True, None, False, True, False, True, None, False]),
]).update(["When = i == 1 ? null : '2024-03-01T12:00:00 UTC' + i * HOUR"])
"""

_FINANCIAL: Final = """
from deephaven import empty_table, new_table
from deephaven import agg
from deephaven.column import string_col, double_col, int_col

# Trades and quotes tick on the same clock, over the same symbols.
_ticks = [
    "Timestamp = '2024-01-02T09:30:00 America/New_York' + i * SECOND",
    "Sym = (new String[]{`AAPL`, `MSFT`, `GOOG`, `AMZN`, `NVDA`})[i % 5]",
]
trades = empty_table(10_000).update(_ticks + [
    "Price = 100.0 + (i % 5) * 50 + Math.sin(i / 100.0) * 5",
    "Size = 100 + (i * 37) % 900",
    "Exchange = (new String[]{`NYSE`, `NASDAQ`, `ARCA`})[i % 3]",
])
quotes = empty_table(10_000).update(_ticks + [
    "Bid = 100.0 + (i % 5) * 50 + Math.cos(i / 100.0) * 5",
    "Ask = Bid + 0.01 + (i % 7) * 0.01",
    "BidSize = 100 + (i * 13) % 500",
    "AskSize = 100 + (i * 17) % 500",
])
del _ticks

ohlc = trades.update(["Minute = lowerBin(Timestamp, MINUTE)"]).agg_by([
    agg.first("Open = Price"),
    agg.max_("High = Price"),
    agg.min_("Low = Price"),
    agg.last("Close = Price"),
    agg.sum_("Volume = Size"),
], by=["Sym", "Minute"])

portfolio = new_table([
    string_col("Sym", ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA"]),
    int_col("Shares", [150, 80, 40, 60, 200]),
    double_col("CostBasis", [142.10, 301.55, 128.40, 131.20, 480.00]),
])
"""

TABLE_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "simple": ("simple_numbers", "simple_people", "simple_awkward"),
    "financial": ("trades", "quotes", "ohlc", "portfolio"),
}
_SCRIPTS: Final = {"simple": _SIMPLE, "financial": _FINANCIAL}


def demo_script(group: str) -> str:
    """Return the worker-side Python that creates the tables of ``group`` (or ``all``)."""
    if group == "all":
        return _SIMPLE + "\n" + _FINANCIAL
    try:
        return _SCRIPTS[group]
    except KeyError:
        choices = ", ".join([*_SCRIPTS, "all"])
        raise ValueError(f"unknown table group {group!r}; choose one of: {choices}") from None

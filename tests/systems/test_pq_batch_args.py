"""The one-or-many PQ arguments of pq_start / pq_stop / pq_restart / pq_delete and their
per-query answer: pure checks, no Java."""

from __future__ import annotations

from typing import Any

import pytest

from deephaven_mcp.enterprise import PqInfo
from deephaven_mcp.enterprise._pq_waits import BatchOutcome
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.systems import _pq_batch


def test_one_identifier_or_a_list() -> None:
    assert not _pq_batch.is_batch("etl") and not _pq_batch.is_batch(17)
    assert _pq_batch.is_batch(["etl"]) and _pq_batch.is_batch(("etl", 17))
    assert _pq_batch.identifiers(["etl", 17, " x "]) == ["etl", 17, " x "]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "the list is empty"),
        (list(range(101)), "at most 100 persistent queries per call (got 101)"),
        (["a", 1.5], "each entry is a PQ name or serial (got 1.5)"),
        (["a", True], "each entry is a PQ name or serial (got True)"),
        (["a", " a"], "lists ' a' more than once"),
        ([3, 3], "lists 3 more than once"),
        ({"a": 1}, "a PQ name or serial, or a list of them"),
        (b"etl", "a PQ name or serial, or a list of them"),
        (None, "a PQ name or serial, or a list of them"),
    ],
)
def test_bad_lists_are_refused_before_anything_is_sent(value: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _pq_batch.identifiers(value)


def test_exactly_one_hundred_is_allowed() -> None:
    assert len(_pq_batch.identifiers(list(range(100)))) == 100


def test_concurrency_is_checked_and_capped() -> None:
    assert _pq_batch.concurrency(1) == 1
    assert _pq_batch.concurrency(4) == 4
    assert _pq_batch.concurrency(500) == 16  # the default operator cap
    assert _pq_batch.concurrency(500, cap=2) == 2  # agent_limits.max_pq_batch_concurrency
    for bad in (0, -1, True, 2.5):
        with pytest.raises(InvalidArgumentError, match="max_concurrent"):
            _pq_batch.concurrency(bad)  # type: ignore[arg-type]


def _query(state: str, **more: Any) -> PqInfo:
    running = state == "RUNNING"
    terminal = state in ("FAILED", "STOPPED", "COMPLETED")
    return PqInfo(serial=9, name="q", state=state, is_running=running, is_terminal=terminal, **more)


def test_messages() -> None:
    assert _pq_batch.message("start", _query("RUNNING")) == "PQ started successfully"
    assert _pq_batch.message("start", _query("INITIALIZING")) == "PQ start requested"
    assert _pq_batch.message("start", _query("COMPLETED")) == "PQ ran to completion"
    assert _pq_batch.message("restart", _query("RUNNING")) == "PQ restarted successfully"
    assert _pq_batch.message("restart", _query("ACQUIRING_WORKER")) == "PQ restart initiated"
    assert _pq_batch.message("stop", _query("STOPPED")) == "PQ stopped successfully"
    assert _pq_batch.message("stop", _query("UNINITIALIZED")) == "PQ stopped successfully"
    assert _pq_batch.message("stop", _query("STOPPING")) == "PQ stop requested"
    assert _pq_batch.message("delete", _query("RUNNING")) == "PQ deleted successfully"


def test_the_batch_answer() -> None:
    running = _query("RUNNING")
    outcomes = [
        BatchOutcome("q", running),
        BatchOutcome(9, running, "Persistent query 'q' is already in this request (as 'q')."),
        BatchOutcome("nope", None, "No persistent query 'nope' on enterprise system 'prod'."),
        BatchOutcome("long", _query("FAILED"), "x" * 600),
    ]
    answer = _pq_batch.answer("prod", "start", outcomes, 4)
    fields = answer.envelope_fields()
    assert (fields["succeeded"], fields["failed"], fields["max_concurrent"]) == (1, 3, 4)
    first, second, third, fourth = fields["results"]
    assert first == {
        "pq": "q",
        "success": True,
        "serial": 9,
        "name": "q",
        "state": "RUNNING",
        "session_id": "enterprise:prod:q",
        "message": "PQ started successfully",
    }
    assert second == {
        "pq": 9,
        "success": False,
        "serial": 9,
        "name": "q",
        "error": "Persistent query 'q' is already in this request (as 'q').",
    }
    assert third == {
        "pq": "nope",
        "success": False,
        "error": "No persistent query 'nope' on enterprise system 'prod'.",
    }
    assert len(fourth["error"]) == 500 and fourth["error"].endswith("…")
    deleted = _pq_batch.answer("prod", "delete", [BatchOutcome("q", running)], 2)
    assert deleted.envelope_fields()["results"] == [
        {"pq": "q", "success": True, "serial": 9, "name": "q", "message": "PQ deleted successfully"}
    ]
    stopped = _pq_batch.answer("prod", "stop", [BatchOutcome("q", _query("STOPPED"))], 2)
    assert "session_id" not in stopped.envelope_fields()["results"][0]

"""What a PQ state change waits for, and batches: pure logic, no Java, no network."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from deephaven_mcp.enterprise import EnterpriseOperationError, PqInfo
from deephaven_mcp.enterprise._pq_waits import (
    RESTART,
    START,
    STOP,
    Watch,
    refused,
    reported_at,
    run_batch,
)
from deephaven_mcp.errors import DeephavenTimeoutError, NotFoundError

T0 = 1_796_648_701_000_000_000  # 2026-12-07T13:05:01Z


def _info(state: str, nanos: int = T0, process: str | None = None, **more: object) -> PqInfo:
    running = state == "RUNNING"
    terminal = state in ("FAILED", "ERROR", "DISCONNECTED", "STOPPED", "COMPLETED")
    return dataclasses.replace(
        PqInfo(serial=7, name="etl", state=state, is_running=running, is_terminal=terminal),
        last_update_nanos=nanos,
        process_info_id=process,
        **more,  # type: ignore[arg-type]
    )


def test_reported_at_is_utc_to_the_second() -> None:
    assert reported_at(T0) == "2026-12-07T13:05:01Z"
    assert reported_at(T0 + 999_999_999) == "2026-12-07T13:05:01Z"


def test_a_start_reaches_running_or_completed() -> None:
    for state in ("RUNNING", "COMPLETED"):
        watch = Watch(START, _info("STOPPED"))
        latest = _info(state, T0 + 1)
        assert watch.settled(latest)
        assert watch.outcome(latest, 30) is latest


def test_a_start_ending_in_failure_says_why() -> None:
    watch = Watch(START, _info("STOPPED"))
    failed = _info("FAILED", T0 + 1, exception_message="NameError: oops")
    assert watch.settled(failed)
    with pytest.raises(EnterpriseOperationError) as error:
        watch.outcome(failed, 30)
    assert (
        str(error.value) == "Persistent query 'etl' did not start: it ended FAILED: NameError: oops"
    )


def test_a_start_with_nothing_published_is_a_timeout_not_a_failure() -> None:
    """Issue 19: "did not start; it is STOPPED" when the state had simply not moved yet."""
    before = _info("STOPPED")
    watch = Watch(START, before)
    assert not watch.settled(before)
    with pytest.raises(DeephavenTimeoutError) as error:
        watch.outcome(before, 30)
    assert str(error.value) == (
        "Persistent query 'etl' did not reach RUNNING within 30 s; the controller last "
        "reported STOPPED at 2026-12-07T13:05:01Z, unchanged since the request."
    )


def test_a_start_still_on_its_way_is_a_timeout_naming_the_state() -> None:
    watch = Watch(START, _info("STOPPED"))
    moving = _info("INITIALIZING", T0 + 2_000_000_000)
    assert not watch.settled(moving)
    with pytest.raises(
        DeephavenTimeoutError, match=r"reported INITIALIZING at 2026-12-07T13:05:03Z\.$"
    ):
        watch.outcome(moving, 2.5)
    with pytest.raises(DeephavenTimeoutError, match=r"within 2\.5 s"):
        watch.outcome(moving, 2.5)


def test_a_state_without_a_time_says_so() -> None:
    watch = Watch(START, _info("UNINITIALIZED", 5))
    with pytest.raises(DeephavenTimeoutError, match=r"reported UNINITIALIZED \(with no time\)\.$"):
        watch.outcome(_info("UNINITIALIZED", 0), 1)


def test_a_restart_of_a_running_query_waits_for_another_run() -> None:
    before = _info("RUNNING", T0, process="old")
    watch = Watch(RESTART, before)
    assert not watch.settled(_info("RUNNING", T0 + 1, process="old"))  # an update of the old run
    assert watch.settled(_info("RUNNING", T0 + 2, process="new"))
    # Having seen it leave RUNNING is enough, whatever the process id says.
    watch = Watch(RESTART, before)
    assert not watch.settled(_info("INITIALIZING", T0 + 1))
    assert watch.settled(_info("RUNNING", T0 + 2, process="old"))


def test_a_restart_ending_in_failure() -> None:
    watch = Watch(RESTART, _info("RUNNING", process="p"))
    with pytest.raises(EnterpriseOperationError, match=r"did not restart: it ended ERROR$"):
        watch.outcome(_info("ERROR", T0 + 1), 10)


def test_a_stop_reaches_a_clean_end() -> None:
    for state in ("STOPPED", "COMPLETED", "UNINITIALIZED"):
        latest = _info(state, T0 + 1)
        assert Watch(STOP, _info("RUNNING")).outcome(latest, 5) is latest


def test_a_stop_ending_in_failure_and_one_still_stopping() -> None:
    watch = Watch(STOP, _info("RUNNING"))
    with pytest.raises(
        EnterpriseOperationError, match="did not stop cleanly: it ended FAILED: boom"
    ):
        watch.outcome(_info("FAILED", T0 + 1, exception_message="boom"), 5)
    with pytest.raises(
        DeephavenTimeoutError, match=r"did not reach STOPPED within 5 s.*STOPPING at"
    ):
        watch.outcome(_info("STOPPING", T0 + 1), 5)


def test_a_refusal_names_the_query_and_keeps_one_line() -> None:
    error = refused(STOP, "etl", "User carol may not stop query etl\n\tat java.lang.Thread")
    assert str(error) == (
        "The controller refused to stop persistent query 'etl': User carol may not stop query etl"
    )
    assert str(refused(START, "etl", "")).endswith(": no reason given")


# -- batches ---------------------------------------------------------------------------------


def _resolve(identifier: str | int) -> PqInfo:
    names = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}
    if isinstance(identifier, int) and identifier in names.values():
        name = next(key for key, value in names.items() if value == identifier)
    elif isinstance(identifier, str) and identifier in names:
        name = identifier
    else:
        raise NotFoundError(f"No persistent query {identifier!r}")
    return PqInfo(
        serial=names[name], name=name, state="STOPPED", is_running=False, is_terminal=True
    )


async def test_a_batch_answers_every_query_in_order_whatever_fails() -> None:
    async def start(serial: int) -> PqInfo:
        await asyncio.sleep(0.01 * (4 - serial))  # finish out of order
        if serial == 2:
            raise EnterpriseOperationError("Persistent query 'b' did not start: it ended FAILED")
        if serial == 3:
            raise ZeroDivisionError  # a bug in one must not lose the others' answers
        return dataclasses.replace(_resolve(serial), state="RUNNING", is_running=True)

    outcomes = await run_batch(["a", "b", "c", "zz", 1], _resolve, start, 4)
    assert [(o.identifier, o.ok) for o in outcomes] == [
        ("a", True),
        ("b", False),
        ("c", False),
        ("zz", False),
        (1, False),
    ]
    assert outcomes[0].query is not None and outcomes[0].query.state == "RUNNING"
    assert outcomes[1].error == "Persistent query 'b' did not start: it ended FAILED"
    assert outcomes[2].error == (
        "Persistent query 'c' failed unexpectedly (ZeroDivisionError); see the server log."
    )
    assert outcomes[3].query is None and outcomes[3].error == "No persistent query 'zz'"
    assert outcomes[4].error == "Persistent query 'a' is already in this request (as 'a')."


async def test_a_batch_runs_at_most_max_concurrent_at_once() -> None:
    running = peak = 0
    started: list[int] = []

    async def op(serial: int) -> PqInfo:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started.append(serial)
        await asyncio.sleep(0.02)
        running -= 1
        return _resolve(serial)

    for limit in (1, 2, 4):
        running = peak = 0
        outcomes = await run_batch(["a", "b", "c", "d", "e", "f"], _resolve, op, limit)
        assert all(outcome.ok for outcome in outcomes)
        assert peak == limit
    with pytest.raises(ValueError, match="at least 1"):
        await run_batch(["a"], _resolve, op, 0)

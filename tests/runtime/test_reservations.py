"""A slot under a limit is reserved before a slow creation and freed however it ends."""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager

import pytest

from deephaven_mcp.errors import InvalidArgumentError, LimitExceededError
from deephaven_mcp.runtime.reservations import Reservations


class Creator:
    """Creations that take a while and count, once done, against a limit of their own."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.created: set[str] = set()
        self.reservations = Reservations()

    async def create(self, name: str, work: asyncio.Event | None = None) -> str:
        with self.reservations.reserve(
            name,
            self.limit,
            exists=name in self.created,
            active=len(self.created),
            taken=f"'{name}' already exists",
            full=lambda count: f"limit reached: {count}/{self.limit}",
        ):
            if work is not None:
                await work.wait()
            else:
                await asyncio.sleep(0.01)
            self.created.add(name)
        return name


async def test_concurrent_reservations_exactly_limit_win() -> None:
    creator = Creator(limit=3)
    results = await asyncio.gather(
        *(creator.create(f"w{i}") for i in range(10)), return_exceptions=True
    )
    won = [result for result in results if isinstance(result, str)]
    refused = [result for result in results if isinstance(result, BaseException)]
    assert len(won) == 3 and creator.created == set(won)
    assert len(refused) == 7 and all(isinstance(error, LimitExceededError) for error in refused)
    assert str(refused[0]) == "limit reached: 3/3"  # the caller's words, reservations counted
    with pytest.raises(LimitExceededError, match="limit reached: 3/3"):
        await creator.create("late")  # now the existing ones fill the limit


async def test_a_failed_body_frees_its_slot() -> None:
    reservations = Reservations()

    def reserve(name: str) -> AbstractContextManager[None]:
        return reservations.reserve(
            name, 1, exists=False, active=0, taken="taken", full=lambda count: f"{count} in use"
        )

    with pytest.raises(RuntimeError, match="launch failed"), reserve("w"):
        raise RuntimeError("launch failed")
    # The name and the only slot are free again; holding them refuses the next one.
    with reserve("w"), pytest.raises(LimitExceededError, match="1 in use"), reserve("other"):
        pass


async def test_cancellation_frees_its_slot() -> None:
    creator = Creator(limit=1)
    never = asyncio.Event()
    task = asyncio.create_task(creator.create("slow", never))
    await asyncio.sleep(0)  # the task holds the only slot and waits
    with pytest.raises(LimitExceededError):
        await creator.create("second")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await creator.create("second") == "second"


async def test_duplicate_names_are_refused() -> None:
    creator = Creator(limit=5)
    work = asyncio.Event()
    task = asyncio.create_task(creator.create("dup", work))
    await asyncio.sleep(0)
    with pytest.raises(InvalidArgumentError, match="'dup' already exists"):
        await creator.create("dup")  # still being created
    work.set()
    await task
    with pytest.raises(InvalidArgumentError, match="'dup' already exists"):
        await creator.create("dup")  # exists
    assert creator.created == {"dup"}


async def test_a_zero_limit_refuses_everything() -> None:
    with pytest.raises(LimitExceededError, match="limit reached: 0/0"):
        await Creator(limit=0).create("any")

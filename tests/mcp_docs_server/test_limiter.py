"""The admission gate on its own: no server, no network, only the event loop."""

from __future__ import annotations

import asyncio
import random

import pytest

from deephaven_mcp.errors import LimitExceededError
from deephaven_mcp.mcp_docs_server._limiter import WAITERS_PER_SLOT, ChatBusyError, ChatLimiter


async def settle() -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_slots_up_to_the_limit_are_immediate() -> None:
    limiter = ChatLimiter(2, timeout=1.0)
    await limiter.acquire()
    await limiter.acquire()
    assert (limiter.active, limiter.waiting) == (2, 0)
    limiter.release()
    limiter.release()
    assert (limiter.active, limiter.waiting) == (0, 0)


async def test_release_hands_the_slot_to_the_oldest_waiter() -> None:
    limiter = ChatLimiter(1, timeout=5.0)
    await limiter.acquire()
    order: list[str] = []

    async def waiter(name: str) -> None:
        async with limiter.slot():
            order.append(name)

    first = asyncio.create_task(waiter("first"))
    await settle()
    second = asyncio.create_task(waiter("second"))
    await settle()
    assert (limiter.active, limiter.waiting) == (1, 2)
    limiter.release()
    await asyncio.gather(first, second)
    assert order == ["first", "second"]
    assert (limiter.active, limiter.waiting) == (0, 0)


async def test_a_newcomer_cannot_jump_the_queue() -> None:
    limiter = ChatLimiter(1, timeout=5.0)
    await limiter.acquire()
    queued = asyncio.create_task(limiter.acquire())
    await settle()
    limiter.release()  # handed to ``queued`` even before it runs again
    newcomer = asyncio.create_task(limiter.acquire())
    await queued
    await settle()
    assert not newcomer.done()  # it waits behind the slot ``queued`` now holds
    assert (limiter.active, limiter.waiting) == (1, 1)
    limiter.release()
    await newcomer
    limiter.release()
    assert (limiter.active, limiter.waiting) == (0, 0)


async def test_waiting_too_long_is_a_busy_error() -> None:
    limiter = ChatLimiter(2, timeout=0.05)
    await limiter.acquire()
    await limiter.acquire()
    with pytest.raises(ChatBusyError) as caught:
        await limiter.acquire()
    assert str(caught.value) == (
        "The documentation assistant is busy (2 requests in progress); retry in a few seconds."
    )
    assert isinstance(caught.value, LimitExceededError)  # a DeephavenMcpError: shown to the client
    assert (limiter.active, limiter.waiting) == (2, 0)


async def test_a_full_waiting_room_rejects_at_once() -> None:
    limiter = ChatLimiter(1, timeout=30.0, max_waiting=1)
    await limiter.acquire()
    queued = asyncio.create_task(limiter.acquire())
    await settle()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ChatBusyError):
        await limiter.acquire()
    assert loop.time() - started < 1.0  # not after the 30 s timeout
    limiter.release()
    await queued
    limiter.release()
    assert (limiter.active, limiter.waiting) == (0, 0)


async def test_zero_timeout_never_waits() -> None:
    limiter = ChatLimiter(1, timeout=0.0)
    async with limiter.slot():
        with pytest.raises(ChatBusyError):
            await limiter.acquire()
    assert limiter.active == 0


def test_default_waiting_room_scales_with_the_limit() -> None:
    assert ChatLimiter(32, timeout=10.0).max_waiting == 32 * WAITERS_PER_SLOT
    with pytest.raises(ValueError, match="at least 1"):
        ChatLimiter(0, timeout=1.0)


async def test_a_cancelled_waiter_gives_back_nothing_it_did_not_take() -> None:
    limiter = ChatLimiter(1, timeout=30.0)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await settle()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # The holder still holds its slot, and the queue is empty again.
    assert (limiter.active, limiter.waiting) == (1, 0)
    limiter.release()
    assert limiter.active == 0
    with pytest.raises(RuntimeError, match="without a held slot"):
        limiter.release()


async def test_a_waiter_cancelled_just_after_the_hand_over_passes_the_slot_on() -> None:
    limiter = ChatLimiter(1, timeout=30.0)
    await limiter.acquire()
    first = asyncio.create_task(limiter.acquire())
    second = asyncio.create_task(limiter.acquire())
    await settle()
    limiter.release()  # the slot goes to ``first`` ...
    first.cancel()  # ... which is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, timeout=5)  # so ``second`` gets it
    assert (limiter.active, limiter.waiting) == (1, 0)
    limiter.release()
    assert limiter.active == 0


async def test_the_limit_holds_under_churn() -> None:
    limiter = ChatLimiter(3, timeout=5.0)
    running = 0
    peak = 0
    rng = random.Random(7)

    async def job() -> None:
        nonlocal running, peak
        async with limiter.slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(rng.random() / 200)
            running -= 1

    tasks = [asyncio.create_task(job()) for _ in range(12)]  # 3 running + 9 of 12 seats
    await asyncio.sleep(0.002)
    tasks[5].cancel()
    tasks[9].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert peak == 3
    assert sum(isinstance(r, asyncio.CancelledError) for r in results) <= 2
    assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)
    assert (limiter.active, limiter.waiting) == (0, 0)

"""Coroutines started at once, and made tasks only when they wait."""

from __future__ import annotations

import asyncio

import pytest

from app.patches.eager_handover import eager, start_eagerly


def run(coro):
    return asyncio.run(coro)


def test_a_coroutine_that_never_waits_finishes_before_the_call_returns():
    steps = []

    async def deliver(x):
        steps.append(x)
        return x * 2

    async def main():
        future = start_eagerly(deliver(21))
        steps.append("returned")
        assert not isinstance(future, asyncio.Task)
        return future.done(), await future

    assert run(main()) == (True, 42)
    assert steps == [21, "returned"]


def test_an_error_raised_before_any_wait_is_in_the_future():
    async def broken():
        raise ValueError("bad message")

    async def main():
        future = start_eagerly(broken())
        assert future.done()
        with pytest.raises(ValueError, match="bad message"):
            await future

    run(main())


def test_a_coroutine_that_waits_runs_on_as_a_task():
    steps = []

    async def deliver(gate):
        steps.append("started")
        value = await gate
        steps.append(f"got {value}")
        await asyncio.sleep(0)  # a bare yield to the loop, too
        return value + 1

    async def main():
        gate = asyncio.get_running_loop().create_future()
        future = start_eagerly(deliver(gate))
        assert steps == ["started"]  # ran up to its wait at once
        assert isinstance(future, asyncio.Task)
        await asyncio.sleep(0)
        assert not future.done()
        gate.set_result(1)
        return await future

    assert run(main()) == 2
    assert steps == ["started", "got 1"]


def test_an_error_after_a_wait_reaches_the_awaiter():
    async def deliver(gate):
        await gate
        raise KeyError("late")

    async def main():
        gate = asyncio.get_running_loop().create_future()
        future = start_eagerly(deliver(gate))
        gate.set_result(None)
        with pytest.raises(KeyError, match="late"):
            await future

    run(main())


def test_cancelling_the_task_cancels_the_waiting_coroutine():
    seen = []

    async def deliver(queue):
        try:
            await queue.put("event")  # the queue is full: this waits
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main():
        queue = asyncio.Queue(maxsize=1)
        queue.put_nowait("earlier")
        future = start_eagerly(deliver(queue))
        await asyncio.sleep(0)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        assert queue.qsize() == 1

    run(main())
    assert seen == ["cancelled"]


def test_eager_wraps_a_coroutine_function():
    async def double(x, *, by=2):
        return x * by

    async def main():
        return await eager(double)(4, by=3)

    assert run(main()) == 12

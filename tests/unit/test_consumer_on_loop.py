"""OnParentLoop: a mode service thread that runs as a task of its parent's loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.patches.consumer_on_loop import OnParentLoop


class Probe(OnParentLoop):
    """Records the thread its start and calls ran in."""

    started_in: int | None = None
    stopped = False
    fail_on_start: Exception | None = None

    async def on_start(self) -> None:
        if self.fail_on_start is not None:
            raise self.fail_on_start
        self.started_in = threading.get_ident()

    async def on_thread_stop(self) -> None:
        await super().on_thread_stop()
        self.stopped = True

    async def where(self) -> int:
        return threading.get_ident()

    def where_now(self) -> int:  # not a coroutine: Faust calls some such through call_thread
        return threading.get_ident()


def probe() -> Probe:
    loop = asyncio.get_running_loop()
    return Probe(loop=loop, thread_loop=loop)


def test_it_starts_calls_and_stops_on_the_calling_thread():
    async def scenario() -> None:
        service = probe()
        await service.start()
        here = threading.get_ident()
        assert service.started_in == here
        assert await service.call_thread(service.where) == here
        assert await service.call_thread(service.where_now) == here
        assert threading.active_count() == 1  # no thread was started
        await asyncio.wait_for(service.stop(), 5)
        assert service.stopped

    asyncio.run(scenario())


def test_stopping_it_leaves_the_loops_other_tasks_alone():
    # mode sweeps a stopped thread's loop of every task; here that loop is shared.
    async def scenario() -> None:
        bystander = asyncio.ensure_future(asyncio.sleep(30))
        service = probe()
        await service.start()
        await asyncio.wait_for(service.stop(), 5)
        await asyncio.sleep(0)
        assert not bystander.cancelled()
        bystander.cancel()

    asyncio.run(scenario())


def test_start_raises_what_it_crashed_with():
    async def scenario() -> None:
        service = probe()
        service.fail_on_start = ConnectionError("broker away")
        with pytest.raises(ConnectionError, match="broker away"):
            await asyncio.wait_for(service.start(), 5)

    asyncio.run(scenario())


def test_it_refuses_a_loop_of_its_own():
    async def scenario() -> None:
        service = Probe(loop=asyncio.get_running_loop())  # mode makes it a new loop
        with pytest.raises(RuntimeError, match="thread_loop"):
            await service.start()
        service.thread_loop.close()

    asyncio.run(scenario())

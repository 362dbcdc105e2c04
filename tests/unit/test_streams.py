"""Stream.take_arrived: batches of what has arrived, acknowledged once processed."""

from __future__ import annotations

import asyncio
import threading

import faust
import pytest

from app.patches.changelog_rereads import STALE_GENERATION
from app.streams import Stream

app = faust.App("txwatch-test-streams", store="memory://", Stream=Stream)
batches: list[list[int]] = []
acked_while_processing: list[bool] = []
previous_acked: list[bool] = []
seen_events: list = []
progress: asyncio.Event | None = None  # set by the agent after each batch; one per test


@app.agent()
async def collect(stream):
    async for events in stream.take_arrived(3):
        previous_acked.extend(e.message.acked for e in seen_events)
        seen_events[:] = events
        acked_while_processing.extend(e.message.acked for e in events)
        batches.append([e.value for e in events])
        progress.set()
        await asyncio.sleep(0.01)  # more arrives while a batch is processed
        yield len(events)


@pytest.fixture(autouse=True)
def clean():
    global progress
    progress = asyncio.Event()
    for seen in (batches, acked_while_processing, previous_acked, seen_events):
        seen.clear()


async def until(condition):
    """Wait for the agent to make ``condition`` true (a test fails rather than hangs)."""
    async with asyncio.timeout(5):
        while not condition():
            await progress.wait()
            progress.clear()


def test_every_waiting_event_goes_in_one_batch_of_at_most_max():
    async def main():
        async with collect.test_context() as agent:
            await asyncio.gather(*(agent.put(i) for i in range(7)))
            await until(lambda: sum(map(len, batches)) == 7)

    asyncio.run(main())
    assert [v for batch in batches for v in batch] == list(range(7))
    assert max(map(len, batches)) == 3
    assert len(batches) < 7  # taken together, not one by one


def test_a_lone_event_goes_at_once_without_waiting_for_more():
    async def main():
        async with collect.test_context() as agent:
            await agent.put(1)
            await until(lambda: batches == [[1]])
            await agent.put(2)
            await until(lambda: batches == [[1], [2]])

    asyncio.run(main())


def test_events_are_acknowledged_only_after_their_batch_is_processed():
    async def main():
        async with collect.test_context() as agent:
            for value in range(3):
                await agent.put(value)
                await until(lambda n=value + 1: sum(map(len, batches)) == n)
            await agent.put(3)  # makes the agent finish the batch before
            await until(lambda: len(previous_acked) == 3)

    asyncio.run(main())
    assert acked_while_processing == [False] * 4
    assert previous_acked == [True] * 3


def test_max_below_one_is_refused():
    async def main():
        stream = app.stream(app.channel())
        with pytest.raises(ValueError, match="at least 1"):
            await stream.take_arrived(0).__anext__()

    asyncio.run(main())


failed_on: list = []


@app.agent()
async def fail_on_negative(stream):
    async for events in stream.take_arrived(10):
        if any(e.value < 0 for e in events):
            failed_on.extend(events)
            raise RuntimeError("cannot process a negative value")
        yield len(events)


def test_the_events_of_a_batch_the_agent_failed_on_stay_unacknowledged():
    async def main():
        async with fail_on_negative.test_context() as agent:
            with pytest.raises(RuntimeError, match="negative"):
                await agent.put(-1)

    failed_on.clear()
    asyncio.run(main())
    assert [e.value for e in failed_on] == [-1]
    assert not failed_on[0].message.acked


class NeverDrainedStream(Stream):
    """As if the channel were emptied behind the stream's back (a rebalance clears it)."""

    def _channel_drained(self) -> bool:
        return False


undrained_app = faust.App(
    "txwatch-test-streams-undrained", store="memory://", Stream=NeverDrainedStream
)
undrained_batches: list[list[int]] = []
all_three: asyncio.Event | None = None  # set by the agent once it has all three; one per test


@undrained_app.agent()
async def collect_undrained(stream):
    async for events in stream.take_arrived(100, within=0.05):
        undrained_batches.append([e.value for e in events])
        if sum(map(len, undrained_batches)) == 3:
            all_three.set()
        yield len(events)


def test_events_still_go_within_the_timeout_when_the_channel_never_looks_drained():
    async def main():
        async with collect_undrained.test_context() as agent:
            await asyncio.gather(*(agent.put(i) for i in range(3)))
            await asyncio.wait_for(all_three.wait(), timeout=5)

    global all_three
    all_three = asyncio.Event()
    undrained_batches.clear()
    # In a thread: without the timeout the agent never gets its batch, and
    # stopping it then hangs too; this fails instead.
    runner = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "the agent never got the events"
    assert [v for batch in undrained_batches for v in batch] == [0, 1, 2]


def test_a_message_the_consumer_marked_stale_is_skipped_by_the_stream():
    # The consumer marks a record whose hand-over spanned a clearing of the
    # buffers (app.consumer.STALE_GENERATION); it is read again, so the
    # stream must not process this copy.
    async def main():
        async with collect.test_context() as agent:
            stale = agent.to_message(key=None, value=1, offset=5)
            stale.generation_id = STALE_GENERATION
            channel = agent.stream().channel
            await channel.put(await channel.decode(stale))
            await agent.put(2)
            await until(lambda: batches)

    asyncio.run(main())
    assert batches == [[2]]


backlog: list = []  # events the agent finds waiting after its first batch
backlog_batches: list[int] = []


@app.agent()
async def collect_while_yielding(stream):
    async for events in stream.take_arrived(1000):
        backlog_batches.append(len(events))
        if backlog:  # a backlog builds up while the first batch is processed
            for event in backlog:
                stream.channel.queue.put_nowait(event)
            backlog.clear()
        for _ in range(5):  # processing gives way to the loop, as sending does
            await asyncio.sleep(0)
        progress.set()
        yield len(events)


def test_a_backlog_goes_in_one_batch_although_the_agent_gives_way_while_it_works():
    # The stream moves one event per turn of the loop into the batch. Were the
    # agent to take what has been moved so far as soon as it comes back, it
    # would take a few events at a time, never catching up with the backlog.
    async def main():
        async with collect_while_yielding.test_context() as agent:
            channel = agent.stream().channel
            for offset in range(1, 301):
                message = agent.to_message(key=None, value=offset, offset=offset)
                backlog.append(await channel.decode(message))
            await agent.put(0)
            await until(lambda: sum(backlog_batches) == 301)

    backlog_batches.clear()
    asyncio.run(main())
    assert backlog_batches[0] == 1
    assert len(backlog_batches) <= 3, backlog_batches

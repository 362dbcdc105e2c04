"""Which consumer a worker runs, which partitions it rewinds to their beginning,
and how it reads again after Faust clears the streams' buffers."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

import faust
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer.fetcher import OffsetResetStrategy
from aiokafka.consumer.subscription_state import Assignment
from aiokafka.structs import ConsumerRecord
from faust.types import TP as FaustTP
from faust.types import Message

from app import app
from app.consumer import (
    Consumer,
    LoopConsumerThread,
    RewindingConsumerThread,
    use_txwatch_consumer,
)
from app.patches.changelog_rereads import STALE_GENERATION
from app.patches.fetch_policy import FetchPolicy
from app.patches.rewind_never_committed import rewinds_to_beginning


def test_the_worker_runs_the_rewinding_consumer():
    assert isinstance(app.consumer, Consumer)
    assert isinstance(app.consumer._thread, RewindingConsumerThread)


def fake_app(reset: str, acking: set[str]) -> SimpleNamespace:
    return SimpleNamespace(
        conf=SimpleNamespace(consumer_auto_offset_reset=reset),
        topics=SimpleNamespace(acks_enabled_for=acking.__contains__),
    )


@pytest.mark.parametrize(
    ("reset", "topic", "expected"),
    [
        ("earliest", "transactions", True),
        ("earliest", "users-changelog", False),  # table recovery positions it
        ("latest", "transactions", False),  # never stood before the end
    ],
)
def test_which_topics_are_rewound_to_their_beginning(reset, topic, expected):
    assert rewinds_to_beginning(fake_app(reset, {"transactions"}), topic) is expected


def test_wait_first_returns_at_once_when_the_first_has_finished():
    import asyncio
    import warnings

    async def main():
        finished = asyncio.get_running_loop().create_future()
        finished.set_result("delivered")
        never = asyncio.Event()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unawaited coroutine would warn
            done = await app.consumer.wait_first(finished, never.wait())
        assert (done.done, done.results, done.stopped) == ([finished], ["delivered"], False)
        # Not finished: mode's own wait_first, which waits for either.
        pending = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, never.set)
        done = await app.consumer.wait_first(pending, never.wait())
        assert pending.cancelled()
        assert done.results == [True]

    app.consumer.loop.run_until_complete(main())  # mode's path runs on the app's loop


TP = TopicPartition("transactions", 0)
FAUST_TP = FaustTP("transactions", 0)  # what Faust's consumer keys partitions by
GENERATION = 7


def records(*offsets):
    """Records of ``TP`` as aiokafka fetches them."""
    return [
        ConsumerRecord(TP.topic, TP.partition, o, 0, 0, b"k", b"v", None, 1, 1, []) for o in offsets
    ]


class FetchStub:
    """The broker's side of Faust's own ``getmany`` and ``perform_seek``: the consumer
    thread's fetches return ``batches`` one by one, and its seeks are counted."""

    def __init__(self, monkeypatch, batches, seek_error=None):
        self.batches = list(batches)
        self.seeks = 0
        self.seek_error = seek_error
        self.hold: asyncio.Event | None = None  # a seek waits for it when set
        stub = self
        thread = app.consumer._thread

        async def getmany(active_partitions, timeout):  # noqa: ASYNC109 (Faust's signature)
            return {FAUST_TP: stub.batches.pop(0)}

        async def seek_to_committed():
            stub.seeks += 1
            if stub.hold is not None:
                await stub.hold.wait()
            if stub.seek_error is not None:
                raise stub.seek_error
            return {}

        monkeypatch.setattr(thread, "getmany", getmany)
        monkeypatch.setattr(thread, "highwater", lambda tp: 100)
        monkeypatch.setattr(thread, "seek_to_committed", seek_to_committed)
        monkeypatch.setattr(app.consumer, "_active_partitions", {FAUST_TP})
        monkeypatch.setattr(app, "consumer_generation_id", GENERATION)


def fetch(consumer, while_handing_over=lambda message: None):
    """The offsets one call of ``getmany`` hands over; the callback runs during each hand-over."""

    async def main():
        handed = []
        async for _tp, message in consumer.getmany(timeout=0.01):
            handed.append(message.offset)
            during = while_handing_over(message)
            if inspect.isawaitable(during):
                await during
        return handed

    return consumer.loop.run_until_complete(main())


@pytest.fixture
def consumer(monkeypatch):
    consumer = app.consumer
    monkeypatch.setattr(consumer, "flow_active", True)
    monkeypatch.setattr(consumer, "_seek_needed", False)
    monkeypatch.setattr(consumer, "seek_retry_interval", 0)
    return consumer


def clear_buffers_at(offset):
    def clear(message):
        if message.offset == offset:
            app.flow_control.clear()  # what Faust does each time it resumes the flow

    return clear


def test_batches_go_whole_and_without_seeks_while_the_buffers_are_kept(consumer, monkeypatch):
    stub = FetchStub(monkeypatch, [records(1, 2), records(3)])
    assert fetch(consumer) == [1, 2]
    assert fetch(consumer) == [3]
    assert stub.seeks == 0


def test_a_clearing_of_the_buffers_ends_the_batch_and_the_next_fetch_seeks_back_first(
    consumer, monkeypatch
):
    stub = FetchStub(monkeypatch, [records(1, 2, 3), records(1, 2, 3)])
    # Handing over 2 and 3 would mark them read, though 1 was lost with the buffers.
    assert fetch(consumer, clear_buffers_at(1)) == [1]
    assert stub.seeks == 0
    assert fetch(consumer) == [1, 2, 3]
    assert stub.seeks == 1


def test_a_message_whose_hand_over_waits_at_a_clearing_is_marked_for_streams_to_skip(
    consumer, monkeypatch
):
    # A hand-over that had to wait (a full queue, the flow suspended) can put
    # its record into a queue just after the clearing emptied it.
    async def main():
        loop = asyncio.get_running_loop()
        waiting, finished = loop.create_future(), loop.create_future()
        finished.set_result(None)
        outcomes = iter([waiting, finished])
        monkeypatch.setattr(consumer, "_deliver", lambda message: next(outcomes))
        slow, quick = (Message("t", 0, o, 0.0, 0, None, b"k", b"v", None) for o in (1, 2))
        for message in (slow, quick):
            message.generation_id = GENERATION
        consumer.callback(slow)
        consumer.callback(quick)
        app.flow_control.clear()
        marked = [slow.generation_id, quick.generation_id]
        waiting.set_result(None)
        await asyncio.sleep(0)  # its done-callback runs
        slow.generation_id = GENERATION
        app.flow_control.clear()  # finished by now: nothing to mark
        return marked, slow.generation_id

    marked, later = consumer.loop.run_until_complete(main())
    assert marked == [STALE_GENERATION, GENERATION]
    assert later == GENERATION


def test_a_seek_during_a_batch_ends_it_and_the_next_fetch_seeks_back_first(consumer, monkeypatch):
    stub = FetchStub(monkeypatch, [records(1, 2, 3), records(1, 2, 3)])

    async def seek_at_1(message):
        if message.offset == 1:
            await consumer.perform_seek()  # Faust's, as its table recovery ends

    # Handing over 2 and 3 after the seek would have Faust take the offsets
    # from the committed one up to them for a gap, committed as done, though
    # some may still wait unscored in the streams' buffers.
    assert fetch(consumer, seek_at_1) == [1]
    assert stub.seeks == 1
    assert fetch(consumer) == [1, 2, 3]
    assert stub.seeks == 2


def test_nothing_is_handed_over_while_another_seek_is_under_way(consumer, monkeypatch):
    stub = FetchStub(monkeypatch, [records(1)])
    monkeypatch.setattr(consumer, "seek_wait_interval", 0)

    async def main():
        stub.hold = asyncio.Event()
        seeking = asyncio.ensure_future(consumer.perform_seek())
        await asyncio.sleep(0)
        during = [m.offset async for _tp, m in consumer.getmany(timeout=0.01)]
        stub.hold.set()
        await seeking
        after = [m.offset async for _tp, m in consumer.getmany(timeout=0.01)]
        return during, after

    assert consumer.loop.run_until_complete(main()) == ([], [1])
    assert stub.seeks == 1


def test_two_seeks_at_once_run_one_after_the_other_and_nothing_is_handed_over_meanwhile(
    consumer, monkeypatch
):
    # Faust's seek at the end of recovery can come while the fetch loop's own
    # seek back is under way (on the worker's loop nothing serialises them).
    stub = FetchStub(monkeypatch, [records(1)])
    monkeypatch.setattr(consumer, "seek_wait_interval", 0)

    async def main():
        stub.hold = asyncio.Event()
        seeking = [asyncio.ensure_future(consumer.perform_seek()) for _ in range(2)]
        await asyncio.sleep(0)
        begun_at_once = stub.seeks
        during = [m.offset async for _tp, m in consumer.getmany(timeout=0.01)]
        stub.hold.set()
        await asyncio.gather(*seeking)
        after = [m.offset async for _tp, m in consumer.getmany(timeout=0.01)]
        return begun_at_once, during, after

    assert consumer.loop.run_until_complete(main()) == (1, [], [1])
    assert stub.seeks == 2


def test_nothing_is_handed_over_until_the_seek_back_succeeds(consumer, monkeypatch):
    stub = FetchStub(monkeypatch, [records(1)], seek_error=RuntimeError("broker away"))
    app.flow_control.clear()
    assert fetch(consumer) == []
    assert fetch(consumer) == []
    assert stub.seeks == 2
    stub.seek_error = None
    assert fetch(consumer) == [1]
    assert stub.seeks == 3


def test_the_livelock_check_skips_a_partition_whose_position_is_being_reset(monkeypatch):
    # Faust checks every few seconds that each partition's events flow; it
    # read the position of one being reset (after a seek to the beginning,
    # until the broker answers) and aiokafka's assertion crashed the worker.
    tp = TopicPartition("transactions", 0)
    thread = app.consumer._thread
    monkeypatch.setattr(thread, "time_started", 0.0, raising=False)  # set when it starts
    now = thread.tp_fetch_request_timeout_secs + 1.0

    async def main():  # aiokafka's partition states need a running loop
        assignment = Assignment({tp})
        state = assignment.state_value(tp)
        state.await_reset(OffsetResetStrategy.EARLIEST)
        state.timestamp = now * 1000  # fetched just now
        subscriptions = SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))
        fetcher = SimpleNamespace(_subscriptions=subscriptions)
        monkeypatch.setattr(thread, "_ensure_consumer", lambda: SimpleNamespace(_fetcher=fetcher))

        thread.verify_event_path(now, tp)  # no AssertionError

        state.reset_to(5)  # once positioned, Faust's check runs as before
        thread.verify_event_path(now, tp)

    asyncio.run(main())


def worker_consumer() -> AIOKafkaConsumer:
    """The aiokafka consumer the worker's consumer thread builds (not started)."""

    async def build() -> AIOKafkaConsumer:  # aiokafka's client wants a running loop
        return app.consumer._thread._create_worker_consumer(app.transport)

    return asyncio.run(build())


def test_the_worker_consumer_refreshes_its_metadata_every_30_seconds():
    # Faust's default is 5 minutes: a topic created just as the group assigned
    # partitions (so missing from the leader's metadata) went unread that long.
    assert worker_consumer()._client._metadata_max_age_ms == 30_000


def test_the_worker_consumer_fetches_as_faust_does_by_default():
    consumer = worker_consumer()
    assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (1, 1500)


def test_the_worker_consumer_fetches_by_the_fetch_policy(monkeypatch):
    monkeypatch.setattr(app.consumer, "fetch_policy", FetchPolicy(min_bytes=65536, max_wait_ms=20))
    consumer = worker_consumer()
    assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (65536, 20)


def test_aiokafka_hands_those_attributes_to_its_fetcher_when_it_starts():
    # The policy is set on attributes, not passed to the constructor (Faust
    # builds the consumer): this pins where aiokafka reads them.
    source = inspect.getsource(AIOKafkaConsumer.start)
    assert "fetch_min_bytes=self._fetch_min_bytes" in source
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in source


def test_use_txwatch_consumer_gives_the_app_a_consumer_with_the_policy():
    other = faust.App("txwatch-test-policy", broker="kafka://127.0.0.1:1")
    use_txwatch_consumer(other, FetchPolicy(min_bytes=4096, max_wait_ms=5))

    assert issubclass(other.transport.Consumer, Consumer)
    assert other.transport.Consumer.fetch_policy == FetchPolicy(4096, 5)
    assert Consumer.fetch_policy == FetchPolicy()  # other apps keep Faust's


def test_the_worker_consumer_runs_on_the_apps_event_loop_by_default():
    thread = app.consumer._thread
    assert isinstance(thread, LoopConsumerThread)
    assert thread.thread_loop is thread.parent_loop is app.loop


def test_use_txwatch_consumer_not_on_loop_runs_the_consumer_in_a_thread_of_its_own():
    other = faust.App("txwatch-test-thread", broker="kafka://127.0.0.1:1")
    use_txwatch_consumer(other, on_loop=False)

    thread = other.consumer._thread
    assert type(thread) is RewindingConsumerThread
    assert thread.thread_loop is not other.loop

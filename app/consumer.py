"""Faust's Kafka consumer, with six changes.

**Never-committed partitions are rewound too.** Faust drops records it has
fetched but not handed to an agent whenever the flow stops (a rebalance,
table recovery), and relies on seeking back to the committed offset
afterwards. aiokafka's ``seek_to_committed`` seeks only partitions that
have a committed offset above 0, so on a partition nobody had committed
yet (a new topic, a new consumer group) the dropped records were skipped
for good: the first alerts of a fresh ``alerts`` partition never reached
PostgreSQL. This consumer rewinds such partitions to their beginning,
which is where ``consumer_auto_offset_reset = "earliest"`` started them.

**Messages are handed over without tasks when nothing waits.** Faust's
fetch loop awaits ``wait_first(callback(message), suspend_flow.wait())``
for every message: four tasks and an ``asyncio.wait``, about 70 µs, a
third of what a bare agent spends per event. Here the callback (the
conductor putting the event into the streams' buffers) starts at once
(:mod:`app.eager`) and ``wait_first`` returns at once when it has already
finished. When it does wait (flow stopped, producer backed up, a buffer
full) everything happens as in Faust, so a rebalance still interrupts it.

**Records are read again after Faust empties the streams' buffers.**
Faust clears those buffers each time it resumes the flow, and relies on
seeking back to the committed offsets. At the end of table recovery,
though, it seeks first and resumes the flow after, while the fetch loop
runs on. Records handed over in between were cleared; and the loop, still
in a batch fetched before the seek, marked their partitions read past
them, so their second fetch was dropped as already read. A restarted
worker skipped a block of transactions (about one buffer's worth) without
a word, and its commits stopped there. Here:

- a clearing ends the batch being handed over, and the next fetch first
  seeks back: stream partitions to the committed offsets, changelog
  partitions to just after what table recovery has applied (they have no
  committed offsets; before issue 23 they stayed where they were read, and
  recovery could wait for ever for records dropped here:
  :mod:`app.patches.changelog_rereads`);
- records whose hand-over had begun and had to wait at the clearing are
  marked with a generation no group has, which Faust's streams and table
  recovery skip (a put woken just before the clearing can land just after
  it); they come again with the rest;
- a seek ends the batch too, and nothing is handed over while one is under
  way. Faust's seek sets its read offsets back to the committed ones; the
  next record of a batch fetched before it lies further on, and Faust took
  the offsets in between for a gap in the partition (as compaction leaves),
  which it commits as done, records still unscored in the buffers included;
- seeks run one at a time: Faust's, at the end of recovery, can come while
  the fetch loop's own seek back is under way.

Records read twice are recognised downstream (:mod:`agents.redelivery`),
which relies on each partition being processed in order.

**Faust's livelock check leaves a partition being reset alone.** Every
few seconds Faust checks that each partition's events flow, reading its
position without asking whether it has one; right after a seek to the
beginning it has none, and aiokafka's assertion crashed the worker.

**How long the broker holds a fetch is a setting.** Faust gives aiokafka a
fixed 1.5 s wait and no minimum size, so a fetch comes back as soon as one
record is there: at a few hundred transactions a second a worker sends more
fetches than it receives transactions, each costing about a millisecond of
Python, and spends most of a core on them. A larger minimum with a short
wait (:class:`FetchPolicy`) trades up to that wait per fetch for the CPU.

**It runs on the worker's event loop instead of in a thread of its own**
(:mod:`app.loop_thread`; ``TXWATCH_CONSUMER_ON_LOOP=false`` keeps Faust's
thread): each fetch then costs no hop between threads, and the event loop
no longer waits behind the consumer's thread for the GIL.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message
from mode.services import WaitArgT, WaitResults

from app.eager import eager
from app.loop_thread import OnParentLoop
from app.patches.changelog_rereads import (
    changelog_positions,
    mark_stale,
    seek_changelogs,
)


async def seek_to_committed_or_beginning(
    consumer: AIOKafkaConsumer, rewinds: Callable[[TopicPartition], bool]
) -> Mapping[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset; those without one
    for which ``rewinds`` is true, to their beginning. Returns the committed offsets."""
    committed = await consumer.seek_to_committed()
    never_committed = [tp for tp, offset in committed.items() if not offset and rewinds(tp)]
    if never_committed:
        await consumer.seek_to_beginning(*never_committed)
    return committed


@dataclass(frozen=True)
class FetchPolicy:
    """How the broker answers a fetch: once ``min_bytes`` are there, or after ``max_wait_ms``.

    The defaults are Faust's: an answer as soon as any record is there.
    """

    min_bytes: int = 1
    max_wait_ms: int = 1500


class RewindingConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """The aiokafka consumer thread whose rewinds also cover never-committed partitions."""

    def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
        """Faust's aiokafka consumer, fetching by the :class:`FetchPolicy` of the consumer."""
        consumer = super()._create_worker_consumer(transport)
        policy: FetchPolicy = self.consumer.fetch_policy  # type: ignore[attr-defined]
        # Faust fixes the wait at 1.5 s and passes no minimum; aiokafka reads
        # both from these attributes when it starts (pinned by a unit test).
        consumer._fetch_min_bytes = policy.min_bytes
        consumer._fetch_max_wait_ms = policy.max_wait_ms
        return consumer

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's periodic check that events flow, skipping a partition whose position is unknown.

        Faust reads each partition's position without asking whether it has
        one. After a seek to the beginning it has none until the broker
        answers, and aiokafka's assertion then crashed the consumer, and with
        it the worker, if the check came in between (seen once in CI, half
        a second after a worker with fresh partitions was ready).
        """
        assignment = self._ensure_consumer()._fetcher._subscriptions.subscription.assignment
        aiotp = TopicPartition(tp.topic, tp.partition)
        state = assignment.state_value(aiotp) if assignment else None
        if state is not None and not state.has_valid_position:
            return None  # being reset: nothing to verify yet
        return super().verify_event_path(now, tp)

    async def seek_to_committed(self) -> Mapping[TopicPartition, int | None]:
        """Seek every assigned partition back to where this group's processing stands."""
        return await self.call_thread(self._seek_to_committed_or_beginning)

    async def _seek_to_committed_or_beginning(self) -> Mapping[TopicPartition, int | None]:
        consumer = self._ensure_consumer()
        committed = await seek_to_committed_or_beginning(
            consumer, lambda tp: rewinds_to_beginning(self.app, tp.topic)
        )
        # Changelog partitions have no committed offsets: they go back to
        # where table recovery stands (app/patches/changelog_rereads.py).
        seek_changelogs(consumer, changelog_positions(self.app.tables.recovery))
        return committed


def rewinds_to_beginning(app: faust.App, topic: str) -> bool:
    """Whether a never-committed partition of ``topic`` is read again from its beginning."""
    # Only stream topics: Faust commits their offsets. Changelog partitions
    # are positioned by table recovery, never by commits; and with "latest"
    # there is no earlier position the group ever stood at.
    return app.conf.consumer_auto_offset_reset == "earliest" and app.topics.acks_enabled_for(topic)


class LoopConsumerThread(OnParentLoop, RewindingConsumerThread):
    """:class:`RewindingConsumerThread` run on the worker's event loop."""


class ClearingWatch:
    """Told, like the streams' buffers, each time Faust's flow control clears them."""

    def __init__(self, on_clear: Callable[[], None]) -> None:
        self._on_clear = on_clear

    def clear(self) -> None:
        """Called by the flow control (as a managed queue)."""
        self._on_clear()


class Consumer(aiokafka_driver.Consumer):
    """Faust's aiokafka consumer: :class:`RewindingConsumerThread`, eager hand-over,
    and a seek back after every clearing of the streams' buffers."""

    #: How long to wait before trying again a seek that failed (a rebalance, the broker away).
    seek_retry_interval = 1.0

    #: How long a fetch waits, handing nothing over, while another seek is under way.
    seek_wait_interval = 0.01

    #: How the broker answers this consumer's fetches (set by :func:`use_txwatch_consumer`).
    fetch_policy = FetchPolicy()

    #: Whether the aiokafka consumer runs on the app's event loop instead of a thread.
    on_loop = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deliver = eager(self.callback)
        self.callback = self._deliver_tracked
        # Messages whose hand-over has begun and not finished (it had to wait).
        self._unfinished: set[Message] = set()
        self._clearings = 0
        self._seeks = 0  # seeks begun: a batch during which it changes ends
        self._seeking = asyncio.Lock()  # held while a seek is under way (one at a time)
        self._seek_needed = False
        # The flow control holds its queues weakly: this consumer keeps the watch alive.
        self._clearing_watch = ClearingWatch(self._on_buffers_cleared)
        self.app.flow_control.manage_queue(self._clearing_watch)

    def _deliver_tracked(self, message: Message) -> asyncio.Future[None]:
        delivered = self._deliver(message)
        if not delivered.done():
            unfinished = self._unfinished
            unfinished.add(message)
            delivered.add_done_callback(lambda _: unfinished.discard(message))
        return delivered

    def _on_buffers_cleared(self) -> None:
        self._clearings += 1
        self._seek_needed = True
        # Their records could land in a queue just after it was emptied;
        # they are read again after the seek back instead.
        mark_stale(self._unfinished)

    async def perform_seek(self) -> None:
        """Seek every partition back to its committed offset (Faust's), and
        forget any pending need to. A batch being handed over ends. Seeks
        asked for at once run one after the other."""
        # Faust's seek at the end of recovery can come while the fetch loop's
        # seek back runs (at once on the worker's loop, or in the two workers
        # of the consumer thread's queue); each would end with Faust's read
        # offsets set to what it found committed, in either order.
        async with self._seeking:
            self._seek_needed = False  # a clearing during the seek asks for another
            self._seeks += 1
            try:
                await super().perform_seek()
            except BaseException:
                self._seek_needed = True
                raise

    async def getmany(
        self,
        timeout: float,  # noqa: ASYNC109 (Faust's signature)
    ) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's fetched records. A clearing of the streams' buffers or a seek
        ends the batch, and the next call first seeks back to the committed
        offsets; nothing is handed over while a seek is under way."""
        if self._seeking.locked():
            # Records fetched now could predate the seek's end (see below).
            await self.sleep(self.seek_wait_interval)
            return
        if self._seek_needed and self.flow_active:
            try:
                await self.perform_seek()
            except Exception as exc:
                # Nothing may be handed over before the seek: it would mark
                # the partitions read past the records cleared.
                self.log.warning("Seek back to committed offsets failed, retrying: %r", exc)
                await self.sleep(self.seek_retry_interval)
                return
        # The count, not only the flag: a seek elsewhere (Faust's, at the end
        # of recovery) resets the flag, but the batch still predates it.
        # And a seek ends the batch too: it sets Faust's read offsets back to
        # the committed ones, and Faust takes the next record of the batch,
        # further on, for a gap in the partition (compacted away) that it
        # commits as done, records not yet scored included.
        clearings, seeks = self._clearings, self._seeks
        async for tp, message in super().getmany(timeout):
            if self._clearings != clearings or self._seeks != seeks or self._seek_needed:
                # The rest of the batch is fetched again after a seek back.
                self._seek_needed = True
                return
            yield tp, message  # Faust's loop comes back once it is handed over

    async def wait_first(
        self,
        *coros: WaitArgT,
        timeout: float | None = None,  # noqa: ASYNC109 (mode's signature)
    ) -> WaitResults:
        """mode's ``wait_first``; at once if the first contender has already finished."""
        first = coros[0] if coros else None
        if (
            isinstance(first, asyncio.Future)
            and first.done()
            and not self._stopped.is_set()
            and not self._crashed.is_set()
        ):
            for other in coros[1:]:
                if inspect.iscoroutine(other):
                    other.close()  # never started: closing it is all it needs
            return WaitResults([first], [first.result()], False)
        return await super().wait_first(*coros, timeout=timeout)

    def _new_consumer_thread(self) -> RewindingConsumerThread:
        if self.on_loop:
            loop = self.loop
            return LoopConsumerThread(self, loop=loop, thread_loop=loop, beacon=self.beacon)
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)


def use_txwatch_consumer(
    app: faust.App, fetch_policy: FetchPolicy | None = None, on_loop: bool = True
) -> None:
    """Give ``app`` this module's consumer when its transport is aiokafka (``kafka://``),
    fetching by ``fetch_policy`` (default: Faust's), on the app's event loop or,
    without ``on_loop``, in a thread of its own as in Faust."""
    transport = app.transport
    if isinstance(transport, aiokafka_driver.Transport):
        attributes = {"fetch_policy": fetch_policy or FetchPolicy(), "on_loop": on_loop}
        transport.Consumer = type("Consumer", (Consumer,), attributes)

"""The ``score_transactions`` agent: validate, score, learn, emit, a batch at a time.

One actor per worker (concurrency 1): a partition's messages arrive in
order, and a user lives in one partition, so each user's transactions are
seen in order (invariant 1). The work per batch is the pure
:func:`agents.batch.score_batch`; this shell reads and writes the
``users`` table and sends the verdicts, changelog and dead letters.

The offset stored with each user's state makes a replay after a crash skip
what was already learnt (invariant 2); a verdict is kept with the state
until its offset is committed, so that a replay re-sends one a crash lost
(:mod:`agents.reemit`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from faust.types import TP, EventT

from agents.batch import BatchOutcome, Incoming, score_batch
from agents.dead_letters import isolate_failures, send_dead_letter
from agents.redelivery import RedeliveryGuard
from app import app, settings
from app.batching import BatchedSends
from app.counters import counters
from app.detection import detector, hold_policy
from app.logs import undo_spinner_debug_level
from app.topics import OutputPartitions, declare_topics, transactions_topic
from models.detector import Detector
from models.merchant_activity import MerchantCounts
from models.merchant_flush import MerchantFlush
from tables.merchant_risk import replica
from tables.users import UserStore, users_lock

logger = logging.getLogger(__name__)


def committed(tp: TP) -> int | None:
    """The partition's last committed offset, as this worker's consumer knows it."""
    # Faust keeps it in a private mapping (checked at start-up: app/patches/upstream.py).
    return app.consumer._committed_offset.get(tp)


class Scorer:
    """Applies :func:`score_batch` to Faust events and carries out its outcome."""

    def __init__(
        self,
        judge: Detector,
        sends: BatchedSends,
        partitions: OutputPartitions,
        guard: RedeliveryGuard,
    ) -> None:
        self.judge = judge
        self.partition_of = partitions
        self.sends = sends
        self.users = UserStore(sends)
        self.guard = guard
        self.source = settings.topic("transactions")
        self.scores = settings.topic("scores")
        self.alerts = settings.topic("alerts")
        self.merchant_activity = settings.topic("merchant-activity")
        # TXWATCH_MERCHANT_STATE=false: merchants neither counted nor read.
        self.merchant_of = replica.view_of if settings.merchant_state else None
        self.hold = hold_policy()
        # Merchants' counts, added up over TXWATCH_MERCHANT_FLUSH_SECONDS and sent evenly.
        self.merchant_flush = MerchantFlush(settings.merchant_flush_seconds, time.monotonic())

    async def process(self, events: Sequence[EventT]) -> None:
        """Score ``events`` (one batch) and emit everything they cause. Never raises."""
        fresh = []
        for event in events:
            message = event.message
            if self.guard.first_time(message.partition, message.offset):
                fresh.append(event)
            else:
                counters.skipped_replays += 1
        await isolate_failures(fresh, self._process, "scoring")

    async def _process(self, events: Sequence[EventT]) -> None:
        batch = [
            Incoming(e.message.partition, e.message.offset, e.message.key, e.message.value)
            for e in events
        ]
        source = self.source
        async with users_lock:
            outcome = score_batch(
                batch,
                self.users.get,
                self.judge,
                lambda partition: committed(TP(source, partition)),
                time.time(),
                self.merchant_of,
                self.hold,
            )
            for (partition, key), state in outcome.states.items():
                self.users.put(partition, key, state)  # type: ignore[arg-type]
            partition_of = self.partition_of
            for verdict in outcome.verdicts:
                source_partition = batch[verdict.index].partition
                scores = partition_of(self.scores, verdict.key, source_partition)
                self.sends.add(self.scores, scores, verdict.key, verdict.payload)
                if verdict.alert:
                    alerts = partition_of(self.alerts, verdict.key, source_partition)
                    self.sends.add(self.alerts, alerts, verdict.key, verdict.payload)
            if self.merchant_of is not None:
                self._count_merchants(outcome.merchant_counts)
            await self.sends.send()
        for rejection in outcome.rejections:
            await send_dead_letter(
                events[rejection.index].message, rejection.reason, rejection.detail
            )
        self._count(events, outcome)

    def _count_merchants(self, counts: MerchantCounts) -> None:
        """Add a batch's merchant counts; queue those due (models.merchant_flush).

        Counts not sent when a worker dies are not counted (two minutes'
        worth at most, of a 14-day record): a message per merchant and
        minute instead of one per transaction is what keeps the record cheap
        (docs/detection.md).
        """
        activity = self.merchant_activity
        for key, value in self.merchant_flush.due(counts, time.monotonic()).messages():
            self.sends.add(activity, self.partition_of.by_key(activity, key), key, value)

    def _count(self, events: Sequence[EventT], outcome: BatchOutcome) -> None:
        now = time.monotonic()
        counters.skipped_replays += outcome.skipped
        for verdict in outcome.verdicts:
            if verdict.assessment is None:
                counters.resent += 1
                continue
            counters.record(verdict.assessment)
            # time_in: when Faust's monitor saw the message arrive.
            arrived = events[verdict.index].message.time_in
            counters.finished(now - arrived if arrived is not None else 0.0, verdict.alert)


#: Offsets this worker has handled, forgotten at every rebalance (see agents.redelivery).
handled = RedeliveryGuard()


@app.on_partitions_assigned.connect
async def forget_handled_offsets(app, assigned, **kwargs) -> None:
    """After a rebalance, replayed messages are judged by the offsets in the state."""
    handled.forget()


@app.agent(transactions_topic)
async def score_transactions(stream):
    """Consume ``transactions``; emit every verdict to ``scores``, flagged ones to ``alerts``."""
    await declare_topics()
    undo_spinner_debug_level()
    sends = BatchedSends(app.producer._ensure_producer())
    scorer = Scorer(detector(), sends, await OutputPartitions.discover(), handled)
    async for events in stream.take_arrived(settings.batch_size):
        await scorer.process(events)

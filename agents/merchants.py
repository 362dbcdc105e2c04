"""The ``track_merchants`` agent: each merchant's fraud record, and its risk for every worker.

It consumes ``merchant-activity`` (transactions counted per batch and
labels, keyed by merchant: :mod:`models.merchant_activity`), keeps each
merchant's record in the ``merchants`` table, and publishes the compact
risk record of every merchant with fraud on record to the compacted
``merchant-risk`` topic, which every worker reads whole
(:mod:`tables.merchant_risk`) to score its users' transactions.

Replays are safe without an offset guard: counts carry the source offset
they reach (a count seen before is left out) and a label is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import orjson
from faust.types import EventT

from agents.dead_letters import isolate_failures, send_dead_letter
from app import app, settings
from app.batching import BatchedSends
from app.counters import counters
from app.kafka_io import bootstrap_servers
from app.topics import OutputPartitions, declare_topics, merchant_activity_topic
from models.merchant_activity import InvalidActivity, apply_activity, parse_activity
from models.merchant_risk import MerchantState, publication
from tables.merchant_risk import replica
from tables.merchants import MerchantStore

logger = logging.getLogger(__name__)

#: Seconds before following ``merchant-risk`` again after a failure.
RETRY = 5


class MerchantKeeper:
    """Applies a batch of ``merchant-activity`` to the merchants' records."""

    def __init__(self, store: MerchantStore, sends: BatchedSends, partitions: OutputPartitions):
        self.store = store
        self.sends = sends
        self.partitions = partitions
        self.risk_topic = settings.topic("merchant-risk")

    async def process(self, events: Sequence[EventT]) -> None:
        """Take ``events`` into the records; store them and publish what moved. Never raises."""
        await isolate_failures(events, self._process, "merchant activity")

    async def _process(self, events: Sequence[EventT]) -> None:
        touched: dict[tuple[int, bytes], tuple[MerchantState, bool]] = {}
        for event in events:
            message = event.message
            try:
                activity = parse_activity(message.value)
                if not message.key:
                    raise InvalidActivity("missing_key", "merchant-activity needs a merchant key")
            except InvalidActivity as exc:
                await send_dead_letter(message, exc.reason, exc.detail)
                continue
            slot = (message.partition, message.key)
            if slot in touched:
                state, labelled = touched[slot]
            else:
                state, labelled = self.store.get(*slot), False
            state, changed = apply_activity(state, activity)
            touched[slot] = (state, labelled or changed)
            counters.merchant_activity += 1
        for (partition, key), (state, labelled) in touched.items():
            due, record = publication(state, labelled)
            self.store.put(partition, key, state)
            if due:
                target = self.partitions.by_key(self.risk_topic, key)
                value = None if record is None else orjson.dumps(record)
                self.sends.add(self.risk_topic, target, key, value)
                counters.merchant_risk_published += 1
        await self.sends.send()


@app.agent(merchant_activity_topic)
async def track_merchants(stream):
    """Consume ``merchant-activity``; keep ``merchants``; publish to ``merchant-risk``."""
    await declare_topics()
    sends = BatchedSends(app.producer._ensure_producer())
    keeper = MerchantKeeper(MerchantStore(sends), sends, await OutputPartitions.discover())
    async for events in stream.take_arrived(settings.batch_size):
        await keeper.process(events)


@app.task
async def follow_merchant_risk() -> None:
    """Keep this worker's copy of ``merchant-risk`` (tables.merchant_risk) for ever."""
    await declare_topics()
    while True:
        try:
            await replica.follow(bootstrap_servers(), settings.topic("merchant-risk"))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Scoring goes on with the records it has; the next attempt reads the topic anew.
            logger.exception("merchant-risk: following the topic failed; again in %ds", RETRY)
            replica.caught_up = False
            await asyncio.sleep(RETRY)

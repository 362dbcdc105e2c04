"""Every merchant's risk, on every worker: the ``merchant-risk`` topic read whole.

A user's transaction is scored on the worker that holds the user, but its
merchant's record lives in the partition of the merchant, often on another
worker. So the merchants agent publishes a compact record
(:func:`models.merchant_risk.risk_record`) of each merchant with fraud on
record to the compacted ``merchant-risk`` topic, and each worker follows the
whole topic into memory here: a few hundred bytes per such merchant, none
for the rest, and a dictionary lookup per transaction.

Not a Faust ``GlobalTable``: faust-streaming 0.15 warns that one "with
multiple app instances may cause an app to be stuck in an infinite recovery
loop" (the class's own docstring), and recovery that hangs is what this
project already spent most of its fault work on. What is kept here is
derived and rebuilt from the topic at every start, so it needs no
changelog, no standby and no recovery: a plain consumer outside the group,
from the first offset.
"""

from __future__ import annotations

import logging

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from models.merchant_risk import MerchantView, RiskRecord, risk_view
from models.transaction import Transaction

logger = logging.getLogger(__name__)

#: How often (ms) the consumer refreshes the topic's metadata: how soon it finds the
#: topic when it starts before the topic is created.
TOPIC_WAIT_MS = 5_000


class MerchantRiskReplica:
    """The newest risk record of each merchant with fraud on record, as the topic says."""

    def __init__(self) -> None:
        self.records: dict[str, RiskRecord] = {}
        self.caught_up = False
        self.applied = 0
        self.refused = 0

    def view(self, merchant_id: str, at: float) -> MerchantView | None:
        """The merchant's record at ``at``, or None when it has no fraud on record."""
        record = self.records.get(merchant_id)
        return None if record is None else risk_view(record, at)

    def view_of(self, tx: Transaction) -> MerchantView | None:
        """The record of ``tx``'s merchant at ``tx``'s time (scoring's lookup)."""
        return None if tx.merchant_id is None else self.view(tx.merchant_id, tx.timestamp)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Take one message: a record replaces the merchant's, a tombstone removes it."""
        if key is None:
            self.refused += 1
            return
        merchant = key.decode("utf-8", "replace")
        self.applied += 1
        if value is None:
            self.records.pop(merchant, None)
            return
        try:
            record = orjson.loads(value)
            if not (isinstance(record, dict) and {"days", "frauds"} <= record.keys()):
                raise ValueError("a risk record has days and frauds")
        except ValueError as exc:
            # Not ours (the merchants agent writes only records): keep the last good one.
            self.refused += 1
            logger.warning("merchant-risk: refused the record of %r: %s", merchant, exc)
            return
        self.records[merchant] = record

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary for ``/stats``."""
        return {
            "merchants_with_fraud": len(self.records),
            "caught_up": self.caught_up,
            "applied": self.applied,
            "refused": self.refused,
        }

    async def follow(self, bootstrap_servers: str, topic: str) -> None:
        """Read ``topic`` from its first offset, then every new message, until cancelled."""
        # Without a group, aiokafka assigns every partition of the topic to this
        # consumer, and with nothing committed it starts from the earliest offset.
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=TOPIC_WAIT_MS,
        )
        await consumer.start()
        try:
            ends: dict[TopicPartition, int] | None = None
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                for messages in batches.values():
                    for message in messages:
                        self.apply(message.key, message.value)
                if self.caught_up:
                    continue
                assigned = consumer.assignment()
                if not assigned:
                    continue  # the topic is not there yet (the worker creates it)
                if ends is None:
                    ends = await consumer.end_offsets(list(assigned))
                positions = {tp: await consumer.position(tp) for tp in assigned}
                self.caught_up = all(positions[tp] >= ends.get(tp, 0) for tp in assigned)
                if self.caught_up:
                    logger.info(
                        "merchant-risk: %d merchants with fraud on record", len(self.records)
                    )
        finally:
            await consumer.stop()


#: This worker's replica, filled by the task in agents.score.
replica = MerchantRiskReplica()

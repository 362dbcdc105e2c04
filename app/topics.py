"""txwatch's topics.

Keys and values are raw bytes: txwatch decodes and validates them itself, so
a malformed message becomes a dead letter instead of being skipped by Faust's
own deserializer. The topics are ``internal``: the worker creates them (with
TOPIC_PARTITIONS partitions) when they do not exist yet.
"""

from __future__ import annotations

from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP, TopicT

from app import app, settings


def raw_topic(name: str, **options: Any) -> TopicT:
    """txwatch's topic ``name`` (with the prefix): raw bytes, created by the worker."""
    return app.topic(
        settings.topic(name),
        key_serializer="raw",
        value_serializer="raw",
        internal=True,
        **options,
    )


transactions_topic = raw_topic("transactions")
scores_topic = raw_topic("scores")
alerts_topic = raw_topic("alerts")
dead_letters_topic = raw_topic("transactions-dlq")
labels_topic = raw_topic("labels")
label_dead_letters_topic = raw_topic("labels-dlq")
#: ``transactions`` and ``labels`` repartitioned by merchant (models.merchant_activity).
merchant_activity_topic = raw_topic("merchant-activity")
#: Each merchant's compact risk record, the newest per merchant kept (tables.merchant_risk).
merchant_risk_topic = raw_topic("merchant-risk", compacting=True)


def assigned_transactions_partitions() -> list[TP]:
    """The partitions of ``transactions`` this worker consumes now, in order.

    Raises whatever the consumer raises when it is not running (yet).
    """
    source = transactions_topic.get_topic_name()
    return sorted(tp for tp in app.consumer.assignment() if tp.topic == source)


async def declare_topics() -> None:
    """Create ``transactions`` and the topics txwatch writes to, if missing.

    Faust creates only the topics a worker consumes, and sending to a topic
    that does not exist would stall the producer. Faust creates
    ``transactions`` too, but only just before the consumer subscribes: the
    group's leader could then assign partitions from metadata that did not
    show the new topic yet, and no worker read ``transactions`` until the
    next metadata refresh. Created here, when the agent starts, it exists a
    good while before that.
    """
    for topic in (
        transactions_topic,
        scores_topic,
        alerts_topic,
        dead_letters_topic,
        labels_topic,
        label_dead_letters_topic,
        merchant_activity_topic,
        merchant_risk_topic,
    ):
        await topic.maybe_declare()


class OutputPartitions:
    """Where a verdict goes: the partition of its key in an output topic.

    When an output topic has as many partitions as ``transactions`` (as the
    worker creates them), a key's partition is the same in both and nothing
    needs hashing; otherwise the key is hashed as every Kafka client does.
    """

    def __init__(self, source_count: int, counts: dict[str, int]) -> None:
        self._partitioner = DefaultPartitioner()
        self._all = {topic: list(range(count)) for topic, count in counts.items()}
        self._hashed = {
            topic: partitions
            for topic, partitions in self._all.items()
            if len(partitions) != source_count
        }

    def by_key(self, topic: str, key: bytes) -> int:
        """The partition of ``key`` in ``topic``, hashed as every Kafka client does."""
        partitions = self._all[topic]
        return self._partitioner(key, partitions, partitions)

    def __call__(self, topic: str, key: bytes, source_partition: int) -> int:
        """The partition of ``key`` in ``topic``, given its partition in ``transactions``."""
        partitions = self._hashed.get(topic)
        if partitions is None:
            return source_partition
        return self._partitioner(key, partitions, partitions)

    @classmethod
    async def discover(cls) -> OutputPartitions:
        """Ask the broker how many partitions ``transactions`` and the outputs have."""
        producer = app.producer._ensure_producer()  # the aiokafka producer
        source = len(await producer.partitions_for(transactions_topic.get_topic_name()))
        counts = {}
        for topic in (scores_topic, alerts_topic, merchant_activity_topic, merchant_risk_topic):
            name = topic.get_topic_name()
            counts[name] = len(await producer.partitions_for(name))
        return cls(source, counts)

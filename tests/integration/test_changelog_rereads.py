"""A changelog partition read past dropped records is sought back to them, on the real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

from app.patches.changelog_rereads import seek_changelogs
from tests.integration.conftest import one_partition_topic

pytestmark = pytest.mark.integration


def test_seek_changelogs_reads_dropped_records_again_on_assigned_partitions_only(stack):
    topic = stack.topic("rereads-changelog")

    async def main() -> tuple[list[TP], list[int]]:
        await one_partition_topic(stack, topic, 6)
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            read = []
            while len(read) < 6:  # read to the end, as aiokafka does for a dropped batch
                batch = await consumer.getmany(tp, timeout_ms=5000)
                read += [record.offset for record in batch.get(tp, [])]
            # Recovery applied up to offset 1: it must see 2.. again.
            sought = seek_changelogs(consumer, {TP(topic, 0): 2, TP(topic, 3): 0})
            again = await consumer.getmany(tp, timeout_ms=5000)
            return sought, [record.offset for record in again[tp]]
        finally:
            await consumer.stop()

    assert asyncio.run(main()) == ([TP(topic, 0)], [2, 3, 4, 5])

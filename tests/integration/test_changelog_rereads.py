"""A changelog partition read past dropped records is sought back to them, on the real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.types import TP

from app.patches.changelog_rereads import seek_changelogs

pytestmark = pytest.mark.integration


def test_seek_changelogs_reads_dropped_records_again_on_assigned_partitions_only(stack):
    topic = stack.topic("rereads-changelog")

    async def main() -> tuple[list[TP], list[int]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 1, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
        await producer.start()
        try:
            for offset in range(6):
                await producer.send_and_wait(topic, b"%d" % offset, key=b"k", partition=0)
        finally:
            await producer.stop()
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

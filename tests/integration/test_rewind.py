"""Rewinding to the committed offset on the real broker, never-committed partitions included."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from app.patches.rewind_never_committed import seek_to_committed_or_beginning
from tests.integration.conftest import one_partition_topic

pytestmark = pytest.mark.integration


async def _read_to_end(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> None:
    while await consumer.position(tp) < end:
        await consumer.getmany(tp, timeout_ms=2000)


async def _positions_after_rewinds(stack) -> dict[str, int]:
    topic = stack.topic("rewind")
    tp = TopicPartition(topic, 0)
    await one_partition_topic(stack, topic, 10)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap,
        group_id=f"{topic}-group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        positions = {}
        await _read_to_end(consumer, tp, 10)
        await seek_to_committed_or_beginning(consumer, lambda _: False)
        positions["never committed, not rewound"] = await consumer.position(tp)
        await seek_to_committed_or_beginning(consumer, lambda _: True)
        positions["never committed, rewound"] = await consumer.position(tp)
        await _read_to_end(consumer, tp, 10)
        await consumer.commit({tp: 4})
        await seek_to_committed_or_beginning(consumer, lambda _: True)
        positions["committed at 4"] = await consumer.position(tp)
        return positions
    finally:
        await consumer.stop()


def test_rewind_reaches_records_of_partitions_never_committed(stack):
    positions = asyncio.run(_positions_after_rewinds(stack))
    assert positions == {
        # aiokafka's own seek_to_committed leaves these records skipped ...
        "never committed, not rewound": 10,
        # ... which is what Faust's rewind after a rebalance relied on.
        "never committed, rewound": 0,
        "committed at 4": 4,
    }

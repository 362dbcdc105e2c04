"""Plain Kafka clients for the command-line tools (producing, reading a topic).

The commands use aiokafka directly rather than Faust's agent machinery:
they produce or read in bulk, outside any consumer group, and must not
disturb the workers' group or tables. aiokafka's default partitioner is
murmur2, the same as Faust's routing and Java clients'.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from app import app


def bootstrap_servers() -> str:
    """The worker's BROKER_URL as a host:port list for plain Kafka clients."""
    return ",".join(f"{url.host}:{url.port or 9092}" for url in app.conf.broker)


async def topic_partitions(topic: str) -> list[int]:
    """The partition numbers of ``topic``; empty if it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return sorted(p["partition"] for p in described["partitions"])


async def ensure_topic(topic: str, partitions: int | None = None) -> None:
    """Create ``topic`` with the app's partition count unless it exists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers())
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            count = partitions or app.conf.topic_partitions
            replicas = app.conf.topic_replication_factor or 1
            with suppress(TopicAlreadyExistsError):  # another process was quicker
                await admin.create_topics([NewTopic(topic, count, replicas)])
    finally:
        await admin.close()


class Pacer:
    """Keeps a loop at ``rate`` iterations per second (0 means no limit)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.started = time.monotonic()

    async def wait(self, done: int) -> None:
        """Sleep until iteration number ``done`` is due."""
        if self.rate > 0:
            ahead = done / self.rate - (time.monotonic() - self.started)
            if ahead > 0.001:
                await asyncio.sleep(ahead)


async def produce(
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes]],
    *,
    rate: float = 0.0,
    progress: Callable[[int, float], None] | None = None,
    progress_every: float = 5.0,
) -> int:
    """Send ``(key, value)`` pairs to ``topic`` at ``rate`` per second; returns the count sent.

    Waits for every message to be acknowledged by the broker before returning.
    """
    await ensure_topic(topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers(), linger_ms=5, max_batch_size=256 * 1024, acks="all"
    )
    await producer.start()
    sent = 0
    pending: list[asyncio.Future[Any]] = []
    pacer = Pacer(rate)
    last_report = time.monotonic()
    try:
        for key, value in messages:
            pending.append(await producer.send(topic, value=value, key=key))
            sent += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
            await pacer.wait(sent)
            now = time.monotonic()
            if progress is not None and now - last_report >= progress_every:
                progress(sent, sent / (now - pacer.started))
                last_report = now
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


@asynccontextmanager
async def _reader(
    topic: str, partitions: list[int]
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer outside any group, assigned ``partitions`` of ``topic``; stopped on exit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        yield consumer, tps
    finally:
        await consumer.stop()


async def read_topic(topic: str, *, idle_timeout: float = 10.0) -> AsyncIterator[bytes]:
    """Every value now in ``topic``, from the beginning to the end offsets seen at the start."""
    partitions = await topic_partitions(topic)
    if not partitions:
        raise LookupError(f"topic {topic!r} does not exist")
    async with _reader(topic, partitions) as (consumer, tps):
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=int(idle_timeout * 1000))
            if not batch:
                raise TimeoutError(f"no message from {topic!r} in {idle_timeout}s before its end")
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record.value
                if records and records[-1].offset >= ends[tp] - 1:
                    remaining.discard(tp)


async def newest_values(topic: str) -> list[bytes]:
    """The last value in each partition of ``topic`` (none for an empty or missing topic)."""
    partitions = await topic_partitions(topic)
    if not partitions:
        return []
    async with _reader(topic, partitions) as (consumer, tps):
        ends = await consumer.end_offsets(tps)
        values = []
        for tp in tps:
            if ends[tp] == 0:
                continue
            consumer.seek(tp, ends[tp] - 1)
            # Compacted or deleted records can leave the last offset empty: then nothing.
            batch = await consumer.getmany(tp, timeout_ms=5000)
            values.extend(r.value for r in batch.get(tp, []) if r.offset == ends[tp] - 1)
        return values

"""Sending many messages as one aiokafka batch per topic partition.

The hot path produces several messages per transaction (its score, maybe
an alert, the user's new state on the changelog). Sent one by one through
Faust's topic machinery each costs a future, a callback, sensor hooks and a
trip through the producer buffer; here they are appended to aiokafka
``BatchBuilder``s and handed over with one ``send_batch`` per partition.

Each batch is closed before it is handed over: aiokafka then sends it with
the next request instead of letting it linger (``producer_linger``) for more
messages, which it would otherwise do while the agent's next batch waited
for it. (aiokafka queues at most one batch per partition for each request
in flight, so lingering batches held small agent batches back: the worker
could not keep up with 1,000 tx/s although it scores 2,000 tx/s in bulk.)

Delivery stays at-least-once: Faust flushes the producer before it commits
offsets, and aiokafka's flush waits for these batches too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

#: Called with (topic, partition, offset of the batch's last message) once it is delivered.
Delivered = Callable[[str, int, int], None]


class BatchedSends:
    """Messages collected per topic partition, then sent as aiokafka batches."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._full: list[tuple[str, int, Any]] = []
        self._on_delivery: dict[str, Delivered] = {}

    def on_delivery(self, topic: str, callback: Delivered) -> None:
        """Call ``callback`` whenever a batch for ``topic`` has been delivered."""
        self._on_delivery[topic] = callback

    def add(self, topic: str, partition: int, key: bytes | None, value: bytes | None) -> None:
        """Queue one message (sent by the next :meth:`send`); a None value is a tombstone."""
        slot = (topic, partition)
        builder = self._open.get(slot)
        if builder is None:
            builder = self._open[slot] = self._producer.create_batch()
        if builder.append(key=key, value=value, timestamp=None) is None:
            # Full: close it for sending and start another. A fresh batch
            # takes any single message (the broker limits its size).
            self._full.append((topic, partition, builder))
            builder = self._open[slot] = self._producer.create_batch()
            builder.append(key=key, value=value, timestamp=None)

    def __len__(self) -> int:
        return len(self._open) + len(self._full)

    async def send(self) -> list[asyncio.Future[Any]]:
        """Hand every queued batch to the producer; futures that resolve on delivery.

        Waits only when the producer's buffer is full (back-pressure).
        """
        batches = [*self._full, *((t, p, b) for (t, p), b in self._open.items())]
        self._open, self._full = {}, []
        futures = []
        for topic, partition, builder in batches:
            count = builder.record_count()
            builder.close()  # complete: send with the next request, no lingering
            future = await self._producer.send_batch(builder, topic, partition=partition)
            callback = self._on_delivery.get(topic)
            if callback is not None:
                future.add_done_callback(_report(callback, topic, partition, count))
            futures.append(future)
        return futures


def _report(callback: Delivered, topic: str, partition: int, count: int) -> Any:
    def done(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            callback(topic, partition, future.result().offset + count - 1)

    return done

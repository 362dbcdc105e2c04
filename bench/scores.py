"""Reads a ``scores`` topic from its beginning, in a thread, for as long as a run lasts."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.audit import verdict_of


class ScoreReader(threading.Thread):
    """Every score message of ``topic``: the verdicts read per transaction id."""

    def __init__(self, servers: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.servers, self.topic = servers, topic
        self._verdicts: dict[str, list[tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.read_at = time.monotonic()  # when the last message was read
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._read())
        except BaseException as exc:  # reported by wait_for
            self.error = exc

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.servers, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            while not partitions:
                await asyncio.sleep(1)
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(self.topic)
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
                with self._lock:
                    for records in batch.values():
                        for record in records:
                            score = orjson.loads(record.value)
                            verdicts = self._verdicts.setdefault(score["transaction_id"], [])
                            verdicts.append(verdict_of(score))
                            self.read_at = time.monotonic()
        finally:
            await consumer.stop()

    def verdicts(self) -> dict[str, list[tuple[Any, ...]]]:
        """What has been read so far (a copy)."""
        with self._lock:
            return {tx: list(v) for tx, v in self._verdicts.items()}

    def wait_for(self, ids: set[str], idle: float) -> int:
        """Wait until every id in ``ids`` has a score; 0 then, else how many have none
        once no score has come for ``idle`` seconds. Stops reading either way."""
        try:
            while True:
                if self.error is not None:
                    raise RuntimeError(f"reading scores failed: {self.error!r}")
                with self._lock:
                    missing = len(ids - self._verdicts.keys())
                if not missing:
                    return 0
                if time.monotonic() - self.read_at > idle:
                    return missing
                time.sleep(1)
        finally:
            self._stopping.set()
            self.join(10)

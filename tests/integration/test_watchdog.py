"""The recovery watchdog on a real worker whose table recovery cannot finish."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


async def committed_in_a_transaction(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` and write one record to its partition 0 in a committed transaction.

    The transaction's commit marker takes the partition's last offset, and
    no consumer is ever handed a marker: Faust's recovery (without
    exactly-once processing) waits for that offset for ever.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        config = {"cleanup.policy": "compact"}
        await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=config)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-writer")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"{}", key=b"nobody", partition=0)
    finally:
        await producer.stop()


def test_a_stalled_recovery_is_reported_in_health_and_metrics_and_rejoined(make_worker):
    worker = make_worker(TXWATCH_RECOVERY_STALL_SECONDS="5")
    changelog = f"{worker.env['TXWATCH_APP_ID']}-users-changelog"
    partitions = int(worker.env["TOPIC_PARTITIONS"])
    asyncio.run(committed_in_a_transaction(make_worker.stack.bootstrap, changelog, partitions))

    worker.process = None
    with pytest.raises(AssertionError, match="not ready"):
        worker.start(ready_timeout=20)  # recovery never ends, so it is never ready
    assert worker.alive()

    def stalled():
        status, health = worker.get("/health")
        return status == 503 and health["recovery"]["rejoins"] >= 1 and health

    health = wait_for(stalled, timeout=60)
    assert health["recovery"]["state"] == "stalled"
    assert health["recovery"]["stalled_partitions"] == [f"{changelog}:0"]
    assert any("table recovery has read nothing" in p for p in health["problems"])
    with urllib.request.urlopen(worker.url + "/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert "txwatch_recovery_stalled 1.0" in metrics
    assert "txwatch_recovery_rejoins_total" in metrics
    # Table views do not answer from half-recovered tables.
    status, body = worker.get("/users/nobody")
    assert (status, body["error"]) == (503, "this worker is recovering its tables: retry shortly")
    log = worker.log_path.read_text()
    assert "rejoining the group to restart it" in log
    assert "(Re-)joining group" in log.split("rejoining the group to restart it", 1)[1]

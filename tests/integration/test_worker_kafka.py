"""A real worker on the real broker, fed by a real client (kcat)."""

from __future__ import annotations

import signal
import urllib.request

import orjson
import pytest

from tests.integration.conftest import kcat, wait_for

pytestmark = pytest.mark.integration

# librdkafka's default partitioner is not Java's murmur2; txwatch's routing
# (and every Kafka Java or Python client) uses murmur2.
MURMUR2 = ("-X", "topic.partitioner=murmur2_random")


def transaction(tx_id: str, user_id: str, amount: float = 12.5) -> bytes:
    return orjson.dumps(
        {
            "transaction_id": tx_id,
            "user_id": user_id,
            "amount": amount,
            "timestamp": "2026-11-21T10:00:00Z",
            "location": "US",
        }
    )


def produce(workers, key: str, *values: bytes) -> None:
    kcat(
        workers.stack,
        "-P",
        "-t",
        workers.topic("transactions"),
        "-k",
        key,
        *MURMUR2,
        stdin=b"\n".join(values) + b"\n",
    )


def user_profile(worker, user_id: str) -> dict | None:
    status, body = worker.get(f"/users/{user_id}")
    return body["profile"] if status == 200 else None


def test_worker_learns_from_messages_kcat_produced(make_worker):
    worker = make_worker().start()
    produce(make_worker, "alice", transaction("a1", "alice"), transaction("a2", "alice", 30.0))
    produce(make_worker, "bob", transaction("b1", "bob"))

    alice = wait_for(lambda: (p := user_profile(worker, "alice")) and p["count"] == 2 and p)
    assert alice["last_seen"] == 1795255200.0
    assert wait_for(lambda: user_profile(worker, "bob"))["count"] == 1
    status, body = worker.get("/users/nobody")
    assert status == 404
    assert "nobody" in body["error"]
    status, health = worker.get("/health")
    assert status == 200
    assert health["model"]["loaded"] is False
    assert len(health["kafka"]["assigned_partitions"]) == 4
    assert health["postgresql"]["state"] == "up"
    status, body = worker.get("/model")
    assert status == 404
    assert "rules alone" in body["error"]
    with urllib.request.urlopen(worker.url + "/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert "txwatch_transactions_scored_total 3.0" in metrics
    assert "txwatch_processing_seconds_count 3.0" in metrics
    assert "txwatch_database_up 1.0" in metrics
    assert "faust_messages_received" in metrics


def test_bad_messages_become_dead_letters_with_reasons(make_worker):
    worker = make_worker().start()
    produce(
        make_worker, "carol", b"{not json", transaction("c1", "dave"), transaction("c2", "carol")
    )
    produce(make_worker, "carol", orjson.dumps({"transaction_id": "c3", "user_id": "carol"}))

    dead = wait_for(lambda: len(lines := dead_letters(make_worker)) >= 3 and lines)
    by_offset = {d["headers"]["txwatch.error.offset"]: d for d in dead}
    reasons = {offset: d["headers"]["txwatch.error.reason"] for offset, d in by_offset.items()}
    assert sorted(reasons.values()) == ["invalid_json", "missing_field", "wrong_key"]
    bad_json = next(d for d in dead if d["headers"]["txwatch.error.reason"] == "invalid_json")
    assert bad_json["payload"] == "{not json"  # the original bytes, untouched
    assert bad_json["key"] == "carol"
    assert bad_json["headers"]["txwatch.error.topic"] == make_worker.topic("transactions")

    # The valid message after the bad ones was processed: the worker went on.
    assert wait_for(lambda: user_profile(worker, "carol"))["count"] == 1
    assert worker.alive()
    status, stats = worker.get("/stats")
    assert status == 200
    assert stats["dead_letters_by_reason"] == {
        "invalid_json": 1,
        "wrong_key": 1,
        "missing_field": 1,
    }


def dead_letters(workers) -> list[dict]:
    out = kcat(workers.stack, "-C", "-t", workers.topic("transactions-dlq"), "-e", "-J", "-q")
    letters = []
    for line in out.splitlines():
        record = orjson.loads(line)
        pairs = record.get("headers") or []
        record["headers"] = dict(zip(pairs[::2], pairs[1::2], strict=True))
        letters.append(record)
    return letters


def test_a_worker_with_its_consumer_in_a_thread_of_its_own_learns_and_stops(make_worker):
    # Faust's way, kept as a setting: every other test runs it on the event loop.
    worker = make_worker(TXWATCH_CONSUMER_ON_LOOP="false").start()
    produce(make_worker, "carol", transaction("c1", "carol"), transaction("c2", "carol", 8.0))

    assert wait_for(lambda: (p := user_profile(worker, "carol")) and p["count"] == 2)
    worker.stop()  # SIGTERM, then SIGKILL if it has not stopped in 30 s
    assert worker.process.returncode != -signal.SIGKILL
    log = worker.log_path.read_text(errors="replace")
    assert "RewindingConsumerThread" in log
    assert "LoopConsumerThread" not in log
    assert "Error while stopping" not in log

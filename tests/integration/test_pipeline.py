"""The detection pipeline end to end: simulator -> Kafka -> worker -> scores, alerts, DLQ."""

from __future__ import annotations

import math
import shutil
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest

from models.features import FEATURE_NAMES
from models.training import replay_features
from models.transaction import parse_timestamp, parse_transaction
from tests.integration.conftest import (
    Worker,
    kcat,
    read_topic,
    run_command,
    topic_size,
    wait_for,
    wait_for_user_counts,
    wait_until_scored,
)

pytestmark = pytest.mark.integration

USERS = 300
COUNT = 20_000
SEED = 5


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A small model trained on another simulator seed, shared by this module's tests."""
    import os

    path = tmp_path_factory.mktemp("model") / "model.npz"
    run_command(
        dict(os.environ),
        "train",
        "--users", str(USERS), "--count", "20000", "--seed", "1", "--trees", "50",
        "--output", str(path),
    )  # fmt: skip
    return path


def simulate_to_file(workers, path: Path) -> list[dict]:
    run_command(
        workers.env, "produce", "--users", str(USERS), "--count", str(COUNT),
        "--fraud-rate", "0.02", "--seed", str(SEED), "--to-file", str(path),
    )  # fmt: skip
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


MALFORMED = {
    b"{broken": "invalid_json",
    b'{"transaction_id":"m1","user_id":"bad","amount":-5,"timestamp":1772368200}': (
        "invalid_amount"
    ),
    b'{"transaction_id":"m2","user_id":"bad","amount":NaN,"timestamp":1772368200}': (
        "invalid_json"
    ),
    b'{"transaction_id":"m3","user_id":"bad","amount":5,"timestamp":"when?"}': (
        "invalid_timestamp"
    ),
    b'{"transaction_id":"m4","user_id":"bad","timestamp":1772368200}': "missing_field",
    b'{"transaction_id":"m5","user_id":"other","amount":5,"timestamp":1772368200}': "wrong_key",
    b'{"transaction_id":"m6","user_id":"bad","amount":5,"timestamp":1772368200,"x":"'
    + b"y" * 70_000
    + b'"}': "oversized",
}


def test_every_valid_transaction_is_scored_once_and_every_invalid_one_dead_lettered(
    make_worker, model_file, tmp_path
):
    expected = simulate_to_file(make_worker, tmp_path / "tx.jsonl")
    worker = make_worker(TXWATCH_MODEL_PATH=str(model_file)).start()
    run_command(make_worker.env, "replay", str(tmp_path / "tx.jsonl"))
    for value in MALFORMED:
        kcat(
            make_worker.stack, "-P", "-t", make_worker.topic("transactions"), "-k", "bad",
            "-X", "topic.partitioner=murmur2_random", "-X", "message.max.bytes=1000000",
            stdin=value, timeout=30,
        )  # fmt: skip

    def done() -> bool:
        scored = topic_size(make_worker.stack, make_worker.topic("scores"))
        dead = topic_size(make_worker.stack, make_worker.topic("transactions-dlq"))
        return scored >= COUNT and dead >= len(MALFORMED)

    wait_for(done, timeout=240, interval=1.0)
    assert worker.alive()
    changelog = sum(
        topic_size(make_worker.stack, f"{make_worker.env['TXWATCH_APP_ID']}-{table}-changelog")
        for table in ("profiles", "velocity")
    )
    print(f"changelog messages per transaction: {changelog / COUNT:.3f}")
    assert changelog <= 2 * COUNT

    scores = [
        orjson.loads(v) for _, v, _ in read_topic(make_worker.stack, make_worker.topic("scores"))
    ]
    ids = Counter(s["transaction_id"] for s in scores)
    assert len(scores) == COUNT
    assert set(ids) == {tx["transaction_id"] for tx in expected}
    assert max(ids.values()) == 1

    dead = read_topic(make_worker.stack, make_worker.topic("transactions-dlq"))
    reasons = {value: headers["txwatch.error.reason"].decode() for _, value, headers in dead}
    assert reasons == MALFORMED

    alerts = [
        orjson.loads(v) for k, v, _ in read_topic(make_worker.stack, make_worker.topic("alerts"))
    ]
    flagged = {s["transaction_id"] for s in scores if s["is_alert"]}
    assert {a["transaction_id"] for a in alerts} == flagged
    assert 0 < len(alerts) < 0.1 * COUNT
    version = scores[0]["model_version"]
    assert version
    assert all(s["model_version"] == version for s in scores)
    for alert in alerts:
        assert alert["detected_at"].endswith("Z")
        assert alert["reasons"] or alert["signals"], "an alert explains itself"
        assert alert["risk_level"] in ("HIGH", "CRITICAL")

    _assert_per_user_order(scores)
    _assert_same_features_offline(scores, tmp_path / "tx.jsonl")

    # The sink: every alert in PostgreSQL, once.
    wait_for(lambda: stored_ids(make_worker) >= flagged, timeout=120)
    assert stored_count(make_worker) == len(alerts)

    # ... and readable over HTTP, filtered; bad requests get a 4xx with a message.
    status, body = worker.get("/anomalies?risk_level=critical&limit=5")
    assert status == 200
    assert 0 < body["count"] <= 5
    assert {a["risk_level"] for a in body["anomalies"]} == {"CRITICAL"}
    status, stats = worker.get("/anomalies/stats")
    assert status == 200
    assert stats["total"] == len(alerts)
    for bad in ("limit=99999", "risk_level=x", "since=soon", "reason=%27%3B--", "colour=red"):
        status, body = worker.get(f"/anomalies?{bad}")
        assert status == 400, bad
        assert body["error"]
    status, model = worker.get("/model")
    assert status == 200
    assert model["version"] == version
    assert len(model["feature_names"]) == len(FEATURE_NAMES)


def stored_ids(workers) -> set[str]:
    with psycopg.connect(workers.database_url) as conn:
        if conn.execute("SELECT to_regclass('anomalies')").fetchone()[0] is None:
            return set()
        return {row[0] for row in conn.execute("SELECT transaction_id FROM anomalies")}


def stored_count(workers) -> int:
    with psycopg.connect(workers.database_url) as conn:
        return conn.execute("SELECT count(*) FROM anomalies").fetchone()[0]


def _assert_per_user_order(scores: list[dict]) -> None:
    # Invariant 1: each transaction saw exactly its user's earlier ones, once.
    by_partition_offset = sorted(
        scores, key=lambda s: (s["source"]["partition"], s["source"]["offset"])
    )
    seen: defaultdict[str, int] = defaultdict(int)
    for score in by_partition_offset:
        assert score["features"]["log_history"] == pytest.approx(math.log1p(seen[score["user_id"]]))
        seen[score["user_id"]] += 1


def _assert_same_features_offline(scores: list[dict], path: Path) -> None:
    # Invariants 5 and 7: replaying the file offline, through the training
    # code, gives exactly the live features.
    transactions = [parse_transaction(line) for line in path.read_bytes().splitlines()]
    offline = replay_features(transactions).features
    live = {s["transaction_id"]: [s["features"][n] for n in FEATURE_NAMES] for s in scores}
    for tx, row in zip(transactions, offline, strict=True):
        assert live[tx.transaction_id] == pytest.approx(list(row), abs=1e-9), tx.transaction_id


def kill_9_mid_stream(make_worker, tmp_path: Path) -> tuple[Worker, list[dict]]:
    """A worker killed with a quarter of the replayed transactions processed; the
    transactions replayed."""
    expected = simulate_to_file(make_worker, tmp_path / "tx.jsonl")
    run_command(make_worker.env, "replay", str(tmp_path / "tx.jsonl"))
    # A short session timeout lets the restarted worker rejoin without
    # waiting a minute for the broker to give up on the killed one.
    worker = make_worker(BROKER_SESSION_TIMEOUT="8").start()
    wait_for(lambda: worker.get("/stats")[1].get("processed", 0) >= COUNT // 4, timeout=120)
    worker.kill()
    return worker, expected


def test_kill_9_mid_stream_then_restart_gives_the_uninterrupted_counts(make_worker, tmp_path):
    worker, expected = kill_9_mid_stream(make_worker, tmp_path)
    per_user = Counter(tx["user_id"] for tx in expected)
    # The same worker again: same data folder, same consumer group.
    worker.start()

    wait_for_user_counts(worker, per_user, timeout=180)
    # Every transaction has a score, at least once (re-sent ones included).
    all_ids = {tx["transaction_id"] for tx in expected}
    assert wait_until_scored(make_worker, all_ids, timeout=120) == all_ids
    for user in per_user:
        profile = worker.get(f"/users/{user}")[1]["profile"]
        status, velocity = worker.get(f"/users/{user}/velocity")
        assert status == 200
        assert velocity["velocity"]["last_offset"] == profile["last_offset"]
        kept = velocity["velocity"].get("verdicts", {}).values()
        assert all(isinstance(v, dict) and "risk_score" in v for v in kept)


def test_kill_9_then_restart_on_an_empty_disk_recovers_from_the_changelog(make_worker, tmp_path):
    # A replaced host: nothing of the killed worker's RocksDB is left, so its
    # tables come back from the changelog alone, while the stream goes on.
    worker, expected = kill_9_mid_stream(make_worker, tmp_path)
    for data in worker.workdir.glob("*-data"):
        shutil.rmtree(data)
    worker.start()

    wait_for_user_counts(worker, Counter(tx["user_id"] for tx in expected), timeout=180)


def test_produce_continue_goes_on_after_the_newest_transaction_in_the_topic(make_worker):
    # How `make demo` runs again: the same users, new transactions, clocks going on.
    same_users = ("produce", "--users", "20", "--count", "400", "--users-seed", "1")
    run_command(make_worker.env, *same_users, "--seed", "1", "--start", "2030-05-01")
    said = run_command(make_worker.env, *same_users, "--seed", "2", "--start", "continue")
    messages = read_topic(make_worker.stack, make_worker.topic("transactions"))
    sent = [orjson.loads(value) for _key, value, _headers in messages]
    first = [tx for tx in sent if tx["transaction_id"].startswith("tx-1-")]
    second = [tx for tx in sent if tx["transaction_id"].startswith("tx-2-")]
    assert len(first) == len(second) == 400
    newest = max(parse_timestamp(tx["timestamp"]) for tx in first)
    next_midnight = newest - newest % 86_400 + 86_400
    assert min(parse_timestamp(tx["timestamp"]) for tx in second) >= next_midnight
    assert f"starting at {datetime.fromtimestamp(next_midnight, UTC):%Y-%m-%d}" in said
    assert {tx["user_id"] for tx in second} <= {f"u{n:05d}" for n in range(1, 21)}

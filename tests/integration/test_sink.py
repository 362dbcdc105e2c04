"""The PostgreSQL sink through a database outage and a worker crash."""

from __future__ import annotations

import os
import time
import urllib.request

import orjson
import pytest

from models.detector import Detector
from models.history import walk
from models.transaction import parse_transaction
from tests.integration.conftest import (
    ROOT,
    STACK,
    read_topic,
    run_command,
    topic_size,
    wait_for,
    wait_until_scored,
)
from tests.integration.test_pipeline import stored_count, stored_ids

pytestmark = pytest.mark.integration

COUNT = 20_000


def alert_ids(workers) -> list[str]:
    values = read_topic(workers.stack, workers.topic("alerts"))
    return [orjson.loads(v)["transaction_id"] for _, v, _ in values]


def feed(workers, tmp_path, seed: int, fraud_rate: str = "0.03", send: float = 1.0) -> set[str]:
    """Simulate transactions and send the first ``send`` share of them (the rest: `send_rest`).

    Returns the ids an uninterrupted worker would alert on.
    """
    path = tmp_path / "tx.jsonl"
    run_command(
        workers.env, "produce", "--users", "300", "--count", str(COUNT),
        "--fraud-rate", fraud_rate, "--seed", str(seed), "--to-file", str(path),
    )  # fmt: skip
    lines = path.read_bytes().splitlines(keepends=True)
    cut = int(len(lines) * send)
    (tmp_path / "first.jsonl").write_bytes(b"".join(lines[:cut]))
    (tmp_path / "rest.jsonl").write_bytes(b"".join(lines[cut:]))
    run_command(workers.env, "replay", str(tmp_path / "first.jsonl"))
    transactions = [parse_transaction(line) for line in path.read_bytes().splitlines()]
    judge = Detector()  # the workers here have no model: rules alone
    return {
        tx.transaction_id
        for tx, profile, velocity in walk(transactions)
        if judge.judge(tx, profile, velocity).assessment.alert
    }


def stack_command(*args: str) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    subprocess.run([str(STACK), *args], cwd=ROOT, env=env, check=True, capture_output=True)


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="PostgreSQL is external: cannot stop it"
)
def test_database_outage_loses_and_duplicates_nothing(make_worker, tmp_path):
    expected = feed(make_worker, tmp_path, seed=21, send=0.3)
    worker = make_worker(TXWATCH_DB_PROBE_SECONDS="1").start()
    pid = worker.process.pid
    sent = int(COUNT * 0.3)
    wait_for(lambda: topic_size(make_worker.stack, make_worker.topic("scores")) >= sent, 120)
    wait_for(lambda: stored_count(make_worker) > 0, timeout=120)
    stack_command("down", "postgres")
    try:
        # Nothing to write yet: only the periodic probe can notice the outage.
        wait_for(lambda: worker.get("/health")[0] == 503, timeout=20)
        # The rest of the stream arrives while the database is away.
        run_command(make_worker.env, "replay", str(tmp_path / "rest.jsonl"))
        # Alerts keep coming while the database is away: the sink must hold them.
        wait_for(lambda: worker.get("/stats")[1]["database"]["state"] == "down", timeout=30)
        down_since = time.monotonic()
        time.sleep(30)
        status = worker.get("/stats")[1]["database"]
        assert status["summary"].startswith("database down")
        code, health = worker.get("/health")
        assert code == 503
        with urllib.request.urlopen(worker.url + "/metrics", timeout=5) as response:
            assert "txwatch_database_up 0.0" in response.read().decode()
        assert any(p.startswith("database down") for p in health["problems"])
    finally:
        stack_command("up", "postgres")
    assert time.monotonic() - down_since >= 30
    wait_for(lambda: topic_size(make_worker.stack, make_worker.topic("scores")) >= COUNT, 240)
    assert set(alert_ids(make_worker)) == expected
    wait_for(lambda: stored_ids(make_worker) >= expected, timeout=120)
    assert stored_count(make_worker) == len(expected)
    assert worker.alive()
    assert worker.process.pid == pid  # never restarted
    assert worker.get("/stats")[1]["database"]["state"] == "up"
    assert worker.get("/health")[0] == 200
    assert "database down" in worker.log_path.read_text()


def test_worker_killed_while_writing_loses_and_duplicates_nothing(make_worker, tmp_path):
    expected = feed(make_worker, tmp_path, seed=22)
    worker = make_worker(BROKER_SESSION_TIMEOUT="8", TXWATCH_SINK_BATCH_SIZE="50").start()
    wait_for(lambda: stored_count(make_worker) > 50, timeout=120)
    worker.kill()
    worker.start()
    # Outputs are at-least-once across a crash: every transaction scored,
    # every alert sent at least once, and stored exactly once.
    all_ids = {f"tx-22-{i:09d}" for i in range(COUNT)}
    assert wait_until_scored(make_worker, all_ids, timeout=240) == all_ids
    wait_for(lambda: set(alert_ids(make_worker)) >= expected, timeout=120)
    assert set(alert_ids(make_worker)) == expected
    wait_for(lambda: stored_ids(make_worker) >= expected, timeout=120)
    assert stored_count(make_worker) == len(expected)

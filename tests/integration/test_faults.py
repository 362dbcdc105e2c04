"""The broker goes away mid-stream and comes back: the worker carries on by itself."""

from __future__ import annotations

import time
from collections import Counter

import orjson
import pytest

from tests.integration.conftest import (
    run_command,
    wait_for,
    wait_for_user_counts,
    wait_until_scored,
)
from tests.integration.test_pipeline import stored_count, stored_ids
from tests.integration.test_sink import COUNT, alert_ids, feed, stack_command

pytestmark = pytest.mark.integration


def assert_every_output(workers, all_ids: set[str], expected: set[str], timeout: float) -> None:
    """Every transaction scored, every expected alert sent and stored exactly once."""
    assert wait_until_scored(workers, all_ids, timeout=timeout) == all_ids
    assert set(alert_ids(workers)) == expected
    wait_for(lambda: stored_ids(workers) >= expected, timeout=120)
    assert stored_count(workers) == len(expected)


def three_busy_workers(make_worker, tmp_path, seed: int, send: float = 1.0):
    """Three workers mid-stream on eight partitions.

    Returns the expected alert ids, the sent ids, each user's transaction
    count and the workers (a, b, c). Each table partition has a standby
    replica, and a short session timeout lets the group notice a killed
    worker quickly.
    """
    make_worker.env["TOPIC_PARTITIONS"] = "8"  # before feed() creates the topic
    expected = feed(make_worker, tmp_path, seed=seed, send=send)
    sent = [orjson.loads(line) for line in (tmp_path / "tx.jsonl").read_bytes().splitlines()]
    env = {"TABLE_STANDBY_REPLICAS": "1", "BROKER_SESSION_TIMEOUT": "8"}
    workers = tuple(make_worker(name, **env) for name in ("a", "b", "c"))
    for worker in workers:
        worker.start()
    wait_for(lambda: sum(w.get("/stats")[1]["processed"] for w in workers) > 2000, 180)
    all_ids = {tx["transaction_id"] for tx in sent}
    return expected, all_ids, Counter(tx["user_id"] for tx in sent), workers


def test_broker_restart_mid_stream_loses_nothing(make_worker, tmp_path):
    expected = feed(make_worker, tmp_path, seed=23, send=0.4)
    worker = make_worker().start()
    pid = worker.process.pid
    wait_for(lambda: worker.get("/stats")[1]["processed"] > 1000, timeout=120)
    stack_command("down", "kafka")
    try:
        time.sleep(10)  # long enough for every client to notice
        assert worker.alive()
    finally:
        stack_command("up", "kafka")
    # The rest of the stream arrives after the restart.
    run_command(make_worker.env, "replay", str(tmp_path / "rest.jsonl"))
    assert_every_output(make_worker, {f"tx-23-{i:09d}" for i in range(COUNT)}, expected, 300)
    assert worker.alive()
    assert worker.process.pid == pid  # resumed on its own, never restarted
    wait_for(lambda: worker.get("/health")[0] == 200, timeout=60)


def assigned(worker) -> int:
    status, health = worker.get("/health")
    return len(health["kafka"]["assigned_partitions"]) if status == 200 else 0


def test_three_workers_one_killed_mid_stream_then_rejoining(make_worker, tmp_path):
    expected, all_ids, per_user, (a, b, c) = three_busy_workers(
        make_worker, tmp_path, seed=24, send=0.5
    )
    c.kill()
    # The others take its partitions over once the group notices it is gone.
    try:
        wait_for(lambda: assigned(a) + assigned(b) == 8, timeout=120)
    except AssertionError:
        raise AssertionError(f"no takeover: {a.get('/health')} {b.get('/health')}") from None
    killed_at = sum(w.get("/stats")[1]["processed"] for w in (a, b))
    # The rest of the stream arrives while c is down.
    run_command(make_worker.env, "replay", str(tmp_path / "rest.jsonl"))
    wait_for(lambda: sum(w.get("/stats")[1]["processed"] for w in (a, b)) > killed_at + 2000, 180)
    c.start()  # same data folder: it recovers from its RocksDB plus the changelog

    wait_for_user_counts(a, per_user, timeout=240)
    assert all(w.get("/health")[1]["kafka"]["assigned_partitions"] for w in (a, b, c))
    # Any worker answers for any user the same way, c included.
    for user in list(per_user)[:30]:
        assert c.get(f"/users/{user}")[1] == a.get(f"/users/{user}")[1]
    assert_every_output(make_worker, all_ids, expected, 120)


def test_a_worker_killed_and_restarted_at_once_learns_every_transaction(make_worker, tmp_path):
    """kill -9, then a restart before the group has noticed: no user's history falls behind.

    The restart causes a rebalance while the other workers are mid-stream:
    Faust rolls table partitions back to their changelog and replays from
    the committed offsets, and every replayed transaction a state does not
    hold must be learnt again. (An earlier, rarer failure of this kind is
    described in agents/redelivery.py; this test has not reproduced it.)
    """
    # All of the stream at once: the workers stay busy through the restart.
    expected, all_ids, per_user, (a, _, c) = three_busy_workers(make_worker, tmp_path, seed=25)
    c.kill()  # while a and b are mid-stream, their sends in flight
    c.start()  # well within the 8 s session timeout

    wait_for_user_counts(a, per_user, timeout=240)
    assert_every_output(make_worker, all_ids, expected, 120)

"""Labels and merchants on the real stack: labels stored and dead-lettered, a merchant's
reported fraud reaching the scores of other users' transactions, precision from labels."""

from __future__ import annotations

import asyncio
import urllib.request

import orjson
import psycopg
import pytest

from tests.integration.conftest import read_topic, run_command, wait_for, wait_until_scored
from tests.integration.test_fuzz import produce

pytestmark = pytest.mark.integration

DAY = "2026-11-20"
USERS = 24
BAD = "m-bad"


def transaction(tx_id: str, user: str, merchant: str, minute: int, day: str = DAY) -> dict:
    return {
        "transaction_id": tx_id,
        "user_id": user,
        "amount": 40.0 + minute % 7,
        "timestamp": f"{day}T{8 + minute // 60:02d}:{minute % 60:02d}:00Z",
        "merchant_id": merchant,
        "location": "US",
    }


def send(workers, topic: str, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    asyncio.run(produce(workers.stack.bootstrap, workers.topic(topic), messages))


def scores_of(workers, ids: set[str]) -> dict[str, dict]:
    found = {}
    for _, value, _ in read_topic(workers.stack, workers.topic("scores")):
        record = orjson.loads(value)
        if record["transaction_id"] in ids:
            found[record["transaction_id"]] = record
    return found


def label_count(workers) -> int:
    with psycopg.connect(workers.database_url) as conn:
        return conn.execute("SELECT count(*) FROM labels").fetchone()[0]


def test_fraud_reported_at_a_merchant_reaches_the_scores_of_its_other_customers(
    make_worker, tmp_path
):
    workers = make_worker
    # Counts sent with every batch, so that the test needs not wait a minute for them.
    worker = workers(TXWATCH_PRECISION_SECONDS="1", TXWATCH_MERCHANT_FLUSH_SECONDS="0").start()
    history = []
    for u in range(USERS):
        for i in range(6):
            merchant = BAD if i % 3 == 0 else f"shop-{(u + i) % 5}"
            history.append(transaction(f"h-{u}-{i}", f"u{u}", merchant, minute=u * 2 + i * 50))
    send(workers, "transactions", [(tx["user_id"].encode(), orjson.dumps(tx)) for tx in history])
    wait_until_scored(workers, {tx["transaction_id"] for tx in history}, timeout=120)

    frauds = [tx for tx in history if tx["merchant_id"] == BAD]
    labels = [
        {"transaction_id": tx["transaction_id"], "user_id": tx["user_id"], "label": 1,
         "known_at": f"{DAY}T23:00:00Z", "merchant_id": BAD, "timestamp": tx["timestamp"],
         "source": "chargeback"}
        for tx in frauds
    ]  # fmt: skip
    invalid = {
        b"{": "invalid_json",
        # Compact, as `replay` sends a JSON object on (it parses it for the key).
        b'{"transaction_id":"x","user_id":"u0","label":2,"known_at":0}': "invalid_label",
        b'{"transaction_id":"x","user_id":"u0","label":1}': "missing_field",
    }
    messages = [(label["user_id"].encode(), orjson.dumps(label)) for label in labels]
    # As a chargeback file would come: through `replay --labels`.
    file = tmp_path / "labels.jsonl"
    file.write_bytes(b"\n".join([value for _, value in messages] + list(invalid)) + b"\n")
    run_command(workers.env, "replay", "--labels", str(file))
    # Keyed by another user, a label would miss its user's state: refused.
    misrouted = orjson.dumps({**labels[0], "source": "misrouted"})
    send(workers, "labels", [(b"someone-else", misrouted)])
    invalid[misrouted] = "wrong_key"

    wait_for(lambda: label_count(workers) == len(labels), timeout=60)
    wait_for(lambda: len(read_topic(workers.stack, workers.topic("labels-dlq"))) == len(invalid))
    dead = read_topic(workers.stack, workers.topic("labels-dlq"))
    assert {v: h["txwatch.error.reason"].decode() for _, v, h in dead} == invalid
    # Each fraud recorded in its user's state once, though delivered twice below.
    feedback = worker.get("/stats")[1]["feedback"]
    assert feedback["users"] == "on"
    wait_for(lambda: worker.get("/stats")[1]["feedback"]["labels_to_users"] == len(labels))

    def merchant_known() -> bool:
        return worker.get("/stats")[1]["merchant_risk"]["merchants_with_fraud"] == 1

    wait_for(merchant_known, timeout=60)
    status, merchant = worker.get(f"/merchants/{BAD}")
    assert status == 200
    assert sorted(merchant["record"]["frauds"]) == sorted(tx["transaction_id"] for tx in frauds)
    assert sum(merchant["record"]["days"].values()) == len(frauds)
    assert worker.get("/merchants/nowhere")[0] == 404
    send(workers, "labels", messages)  # delivered again: one row each still
    wait_for(lambda: worker.get("/stats")[1]["feedback"]["labels"]["fraud"] == 2 * len(labels))
    assert label_count(workers) == len(labels)
    assert worker.get("/stats")[1]["feedback"]["labels_to_users"] == len(labels)

    # Training reads the same labels back, from PostgreSQL and from the topic.
    history_file = tmp_path / "history.jsonl"
    history_file.write_bytes(b"\n".join(orjson.dumps(tx) for tx in history) + b"\n")
    for source in ("database", "topic"):
        said = run_command(
            workers.env, "train", "--from-file", str(history_file), "--labels", source,
            "--trees", "10", "--max-samples", "64",
            "--output", str(tmp_path / f"model-{source}.npz"),
        )  # fmt: skip
        expected = f"labels from {source}: {len(labels)} transactions ({len(labels)} fraud)"
        assert f"{expected}, {len(labels)} of them in the training history" in said, said

    # Two newcomers, alike but for the merchant: only the reported one carries its fraud;
    # a card with confirmed fraud stays suspect at a fair shop.
    fresh = [
        transaction("n-bad", "new-1", BAD, minute=30, day="2026-11-21"),
        transaction("n-fair", "new-2", "shop-1", minute=30, day="2026-11-21"),
        transaction("again", "u0", "shop-1", minute=31, day="2026-11-21"),
    ]
    send(workers, "transactions", [(tx["user_id"].encode(), orjson.dumps(tx)) for tx in fresh])
    wait_until_scored(workers, {"n-bad", "n-fair", "again"}, timeout=60)
    scored = scores_of(workers, {"n-bad", "n-fair", "again"})
    assert "merchant_fraud" in scored["n-bad"]["signals"]
    assert "merchant_fraud" not in scored["n-fair"]["signals"]
    assert scored["n-bad"]["risk_score"] > scored["n-fair"]["risk_score"]
    assert "card_compromised" in scored["again"]["signals"]
    assert "card_compromised" not in scored["n-fair"]["signals"]

    # Every confirmed fraud is either a settled alert or a miss, in /stats and /metrics.
    def precision_counts_all() -> bool:
        figures = worker.get("/stats")[1]["alert_precision"]
        settled = sum(row["frauds"] for row in figures["by_level"].values())
        return figures["measured_at"] is not None and settled + figures["missed_frauds"] == len(
            labels
        )

    wait_for(precision_counts_all, timeout=30)
    missed = worker.get("/stats")[1]["alert_precision"]["missed_frauds"]
    with urllib.request.urlopen(worker.url + "/metrics", timeout=5) as response:
        exposition = response.read().decode()
    assert f"txwatch_missed_frauds {float(missed)}" in exposition
    assert f'txwatch_labels_total{{outcome="fraud"}} {float(2 * len(labels))}' in exposition

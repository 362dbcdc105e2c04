"""The agent's pure core: a batch scored exactly as one transaction at a time."""

import orjson
import pytest

from agents.batch import Incoming, score_batch
from models.detector import Detector
from models.history import walk
from models.merchant_activity import parse_activity
from models.merchant_risk import MerchantView
from models.simulator import SimulatorConfig, simulate
from models.training import replay_features, train_model
from models.transaction import parse_transaction

PARTITIONS = 4


@pytest.fixture(scope="module")
def judge() -> Detector:
    transactions = list(simulate(SimulatorConfig(users=60, seed=1), 3000))
    return Detector(model=train_model(replay_features(transactions), n_estimators=20, seed=1))


def stream(count: int = 1500, users: int = 40) -> list[Incoming]:
    """Messages as a producer keyed by user would write them, one offset sequence each."""
    offsets = [0] * PARTITIONS
    messages = []
    for tx in simulate(SimulatorConfig(users=users, fraud_rate=0.05, seed=9), count):
        partition = sum(tx.user_id.encode()) % PARTITIONS
        messages.append(
            Incoming(partition, offsets[partition], tx.user_id.encode(), orjson.dumps(tx.to_dict()))
        )
        offsets[partition] += 1
    return messages


def stored(store, partition, key):
    """A fresh copy of a user's state, as the agent's table hands them out."""
    raw = store.get((partition, key))
    return None if raw is None else orjson.loads(raw)


def run(messages, judge, size, store=None, committed=None):
    store = {} if store is None else store
    verdicts = []
    for start in range(0, len(messages), size):
        batch = messages[start : start + size]
        outcome = score_batch(
            batch, lambda p, k: stored(store, p, k), judge, lambda p: committed, now=1.8e9
        )
        store.update((slot, orjson.dumps(state)) for slot, state in outcome.states.items())
        verdicts.extend(orjson.loads(v.payload) for v in outcome.verdicts)
    return verdicts, store


@pytest.mark.parametrize("size", [1, 7, 500])
def test_a_batch_gives_the_verdicts_of_one_at_a_time(judge, size):
    messages = stream()
    verdicts, _ = run(messages, judge, size)
    transactions = [parse_transaction(m.value) for m in messages]
    expected = [judge.judge(tx, p, v).assessment for tx, p, v in walk(transactions)]
    assert len(verdicts) == len(messages)
    assert [v["risk_score"] for v in verdicts] == [a.risk_score for a in expected]
    assert [v["reasons"] for v in verdicts] == [a.reasons for a in expected]
    assert [v["model_score"] for v in verdicts] == [a.model_score for a in expected]
    assert sum(v["is_alert"] for v in verdicts) > 0
    assert all("explanation" in v for v in verdicts if v["is_alert"])


def test_invalid_and_wrongly_keyed_messages_are_rejected_and_the_rest_scored(judge):
    good = stream(count=3)
    bad = [
        Incoming(0, 100, b"u1", b"{oops"),
        Incoming(0, 101, b"someone-else", good[0].value),
        Incoming(0, 102, None, good[0].value),
    ]
    outcome = score_batch([bad[0], *good, *bad[1:]], lambda p, k: None, judge, lambda p: None, 0.0)
    assert [(r.index, r.reason) for r in outcome.rejections] == [
        (0, "invalid_json"),
        (4, "wrong_key"),
        (5, "wrong_key"),
    ]
    assert [v.index for v in outcome.verdicts] == [1, 2, 3]


def test_a_replay_resends_kept_verdicts_and_skips_committed_ones(judge):
    messages = stream(count=200)
    first, store = run(messages, judge, 50)
    # Replayed after a crash, nothing committed yet: the same verdicts again.
    again, store_after = run(messages, judge, 50, store=dict(store))
    assert again == first
    assert store_after == store  # nothing learnt twice
    # Verdicts are dropped once committed, when the user's next transaction is learnt.
    earlier, later = messages[:100], messages[100:]
    _, store = run(earlier, judge, 50)
    _, store = run(later, judge, 50, store=store, committed=10**9)
    outcome = score_batch(earlier, lambda p, k: stored(store, p, k), judge, lambda p: 10**9, 0.0)
    resent = [v for v in outcome.verdicts if v.assessment is None]
    assert len(resent) + outcome.skipped == len(earlier)
    assert outcome.skipped > 0
    assert not outcome.states


def test_judge_all_equals_judge_row_by_row(judge):
    from models.features import observe

    transactions = [parse_transaction(m.value) for m in stream(count=300)]
    history = list(walk(transactions))
    one_by_one = [judge.judge(tx, p, v) for tx, p, v in history]
    together = judge.judge_all([observe(tx, p, v) for tx, p, v in history])
    assert together == one_by_one


def test_learnt_transactions_are_counted_for_their_merchants_and_replays_are_not(judge):
    messages = stream(count=300)
    merchants = {}
    for m in messages:
        tx = parse_transaction(m.value)
        if tx.merchant_id is not None:
            merchants[tx.merchant_id] = merchants.get(tx.merchant_id, 0) + 1
    assert merchants  # the simulator names merchants
    store: dict = {}
    counted: dict[str, int] = {}
    for start in range(0, 300, 60):
        outcome = score_batch(
            messages[start : start + 60], lambda p, k: stored(store, p, k), judge,
            lambda p: None, 0.0,
        )  # fmt: skip
        store.update((slot, orjson.dumps(state)) for slot, state in outcome.states.items())
        for key, value in outcome.merchant_counts.messages():
            days = parse_activity(value).days
            counted[key.decode()] = counted.get(key.decode(), 0) + sum(days.values())
    assert counted == merchants
    replayed = score_batch(messages, lambda p, k: stored(store, p, k), judge, lambda p: None, 0.0)
    assert list(replayed.merchant_counts.messages()) == []


def test_a_merchant_with_reported_fraud_adds_its_evidence(judge):
    messages = stream(count=100)
    plain = score_batch(messages, lambda p, k: None, judge, lambda p: None, 0.0)
    views = []

    def merchant_of(tx) -> MerchantView | None:
        if tx.merchant_id is None:
            return None
        views.append(tx.transaction_id)
        return MerchantView(transactions=20, frauds=6)

    flagged = score_batch(messages, lambda p, k: None, judge, lambda p: None, 0.0, merchant_of)
    with_merchant = [parse_transaction(m.value).merchant_id is not None for m in messages]
    assert len(views) == sum(with_merchant) > 0
    for before, after, has in zip(plain.verdicts, flagged.verdicts, with_merchant, strict=True):
        a, b = orjson.loads(before.payload), orjson.loads(after.payload)
        assert ("merchant_fraud" in b["signals"]) is has
        assert b["risk_score"] >= a["risk_score"]

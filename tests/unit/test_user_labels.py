import math

import orjson
import pytest

from models.detector import Detector
from models.features import observe
from models.feedback import LabelFeedback
from models.history import walk
from models.holding import HoldPolicy, learn_or_hold
from models.labels import Label
from models.profile import learn
from models.scoring import score_stream
from models.signals import (
    DEFAULT_CARD_RATES,
    MIN_SHARE,
    Population,
    evidence_inputs,
    fit_population,
    signal_nats,
)
from models.transaction import Transaction
from models.user_labels import MAX_FRAUDS, apply_user_label, card_frauds

T0 = 1.7e9
DAY = 86_400.0


def tx(i: int, days: float, amount: float = 10.0, user: str = "u", label=None) -> Transaction:
    return Transaction(f"t{i}", user, amount, T0 + days * DAY, merchant_id="m", label=label)


def fraud(i: int, days: float, known_days: float | None = None, label: int = 1) -> Label:
    known = days + 7 if known_days is None else known_days
    return Label(f"t{i}", "u", label, T0 + known * DAY, "m", T0 + days * DAY)


def profile_of(*transactions: Transaction) -> dict:
    profile = None
    for offset, t in enumerate(transactions):
        profile = learn(profile, t, offset)
    return profile


@pytest.mark.parametrize(
    ("labels", "changed", "at_days", "count"),
    [
        ([fraud(1, 1)], [True], 8, 1),
        ([fraud(1, 1), fraud(1, 1)], [True, False], 8, 1),  # delivered twice
        ([fraud(1, 1), fraud(2, 2)], [True, True], 8, 2),
        ([fraud(1, 1), fraud(1, 1, label=0)], [True, True], 8, 0),  # taken back
        ([fraud(1, 1, label=0)], [False], 8, 0),  # genuine, nothing recorded
        ([fraud(1, 1)], [True], 15, 1),  # 14 days after the fraud: still
        ([fraud(1, 1)], [True], 15.5, 0),  # beyond: the card is no longer suspect
        ([fraud(1, 5)], [True], 4, 0),  # a fraud later than the transaction scored
    ],
)
def test_fraud_labels_mark_the_card_for_a_window(labels, changed, at_days, count):
    profile = profile_of(tx(0, 0))
    assert [apply_user_label(profile, label) for label in labels] == changed
    assert card_frauds(profile, T0 + at_days * DAY) == count
    # What is stored stays JSON, and no empty record is left behind.
    assert orjson.loads(orjson.dumps(profile)) == profile
    if labels[-1].label == 0:
        assert "frauds" not in profile


def test_a_label_without_the_transactions_time_counts_from_when_it_was_known():
    profile = profile_of(tx(0, 0))
    apply_user_label(profile, Label("t1", "u", 1, T0 + 10 * DAY))
    assert card_frauds(profile, T0 + 23 * DAY) == 1
    assert card_frauds(profile, T0 + 25 * DAY) == 0


def test_the_oldest_frauds_are_forgotten_beyond_the_cap():
    profile = profile_of(tx(0, 0))
    for i in range(MAX_FRAUDS + 3):
        apply_user_label(profile, fraud(i, i * 0.1))
    assert len(profile["frauds"]) == MAX_FRAUDS
    assert "t0" not in profile["frauds"]
    assert f"t{MAX_FRAUDS + 2}" in profile["frauds"]


@pytest.mark.parametrize(("label", "count", "held"), [(0, 2, 0), (1, 1, 0)])
def test_a_label_settles_a_held_transaction(label, count, held):
    policy = HoldPolicy(seconds=30 * DAY)
    profile = learn_or_hold(None, tx(0, 0), 0, policy)
    profile = learn_or_hold(profile, tx(1, 1, amount=900.0), 1, policy, flagged=True)
    assert apply_user_label(profile, fraud(1, 1, label=label)) is True
    assert (profile["count"], len(profile["held"])) == (count, held)


@pytest.mark.parametrize(
    ("frauds", "rates", "nats"),
    [
        (0, (), None),
        (1, (), -math.log(DEFAULT_CARD_RATES[0])),
        (2, (), -math.log(DEFAULT_CARD_RATES[1])),
        (9, (), -math.log(DEFAULT_CARD_RATES[2])),
        (1, (0.2, 0.01, 0.001), -math.log(0.2)),
        (3, (0.2, 0.01, 1e-9), -math.log(MIN_SHARE)),  # clipped like every signal
    ],
)
def test_card_compromised_is_as_rare_as_so_many_frauds_on_a_card(frauds, rates, nats):
    profile = profile_of(*(tx(i, i * 0.5) for i in range(10)))
    for i in range(frauds):
        apply_user_label(profile, fraud(100 + i, 4))
    obs = observe(tx(50, 6), profile, None)
    got = signal_nats(evidence_inputs(obs, []), Population(card_rates=rates))
    assert got.get("card_compromised") == (None if nats is None else pytest.approx(nats))


def test_population_measures_card_rates_only_when_labels_were_fed():
    profile = profile_of(tx(0, 0))
    apply_user_label(profile, fraud(1, 0))
    apply_user_label(profile, fraud(2, 0))
    rows = [evidence_inputs(observe(tx(9, 1), profile if i < 2 else None, None), [])
            for i in range(10)]  # fmt: skip
    assert fit_population(rows).card_rates == ()
    fed = fit_population(rows, labels_fed=True)
    assert fed.card_rates == (3 / 12, 3 / 12, 1 / 12)
    assert Population.from_json(fed.to_json()).card_rates == fed.card_rates
    older = fed.to_json()
    del older["card_rates"]  # a model file from before the signal
    assert Population.from_json(older).card_rates == ()
    with pytest.raises(ValueError, match="card rates"):
        Population.from_json({**fed.to_json(), "card_rates": [0.5, 0.0, 0.1]})


def feedback_stream() -> list[Transaction]:
    # u's fraud on day 1 becomes known at the very time of u's transaction on day 8.
    stream = []
    for day in range(12):
        for user in ("u", "v"):
            label = 1 if (user, day) == ("u", 1) else 0
            stream.append(tx(len(stream), day, user=user, label=label))
    return stream


def test_walk_and_score_stream_feed_labels_when_they_become_known():
    stream = feedback_stream()
    feedback = LabelFeedback(7 * DAY)
    suspect = []
    for offset, (t, profile, _) in enumerate(walk(stream, feedback.user_labels_due)):
        feedback.learn(t, offset)
        if card_frauds(profile, t.timestamp):
            suspect.append((t.user_id, round((t.timestamp - T0) / DAY)))
    assert suspect == [("u", 8), ("u", 9), ("u", 10), ("u", 11)]

    feedback = LabelFeedback(7 * DAY)

    def merchant_of(t: Transaction):
        view = feedback.view(t)
        feedback.learn(t, 0)
        return view

    scored = score_stream(stream, Detector(), merchant_of, batch=2,
                          labels_due=feedback.user_labels_due)  # fmt: skip
    flagged = [(t.user_id, round((t.timestamp - T0) / DAY))
               for t, v in scored if "card_compromised" in v.assessment.signals]  # fmt: skip
    # A batch sees the labels known by its first transaction: as a worker between batches.
    assert flagged == [("u", 8), ("u", 9), ("u", 10), ("u", 11)]

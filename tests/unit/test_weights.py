import random

import pytest

from models.risk import MODEL_WEIGHT, EvidenceScale, RiskPolicy, assess
from models.weights import DEFAULT_WEIGHTS, MIN_EACH_CLASS, WEIGHED, fit_weights


def world(n: int = 3000, seed: int = 1):
    """Frauds show a large amount; new devices are as common among frauds as not."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        fraud = rng.random() < 0.05
        amount = rng.expovariate(1 / 6.0) if fraud else rng.expovariate(1.0)
        device = rng.expovariate(1.0) if rng.random() < 0.3 else 0.0
        rows.append({"amount_above_usual": amount, "new_device": device, "model": rng.random()})
        labels.append(int(fraud))
    return rows, labels


def test_weights_recover_the_log_odds_each_nat_is_worth():
    # Fraud amounts' nats ~ Exp(mean 6), honest ~ Exp(mean 1): each nat multiplies the
    # odds by exp(1 - 1/6), a weight of 0.83. New devices and the model say nothing.
    weights = fit_weights(*world(n=20_000))
    assert weights["amount_above_usual"] == pytest.approx(5 / 6, abs=0.1)
    assert weights["new_device"] < 0.1
    assert weights["model"] < 0.5  # a span of 1 nat: loosely pinned, but below its default 0.5
    assert set(weights) == set(WEIGHED)


def test_weights_are_never_negative_and_unseen_signals_keep_their_default():
    weights = fit_weights(*world(seed=2))
    assert min(weights.values()) >= 0.0
    assert weights["CARD_TESTING"] == pytest.approx(DEFAULT_WEIGHTS["CARD_TESTING"], abs=1e-3)


def test_too_few_labels_learn_nothing():
    rows, labels = world(n=200)
    labels = [0] * len(rows)
    labels[: MIN_EACH_CLASS - 1] = [1] * (MIN_EACH_CLASS - 1)
    with pytest.raises(ValueError, match=f"need {MIN_EACH_CLASS} of each"):
        fit_weights(rows, labels)


def test_assess_applies_weights_to_signals_and_model():
    scale, policy = EvidenceScale(), RiskPolicy()
    signals = {"amount_above_usual": 2.0, "new_device": 1.0}
    plain = assess(dict(signals), [], None, None, policy, scale)
    weighed = assess(dict(signals), [], None, None, policy, scale,
                     {"amount_above_usual": 2.0, "new_device": 0.0})  # fmt: skip
    assert plain.evidence == pytest.approx(3.0)
    assert weighed.evidence == pytest.approx(4.0)
    assert weighed.signals == {"amount_above_usual": 4.0}
    assert DEFAULT_WEIGHTS["model"] == MODEL_WEIGHT

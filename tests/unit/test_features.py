import dataclasses
import math

import pytest

from models.features import FEATURE_NAMES, NO_PREVIOUS_SECONDS, observe
from models.history import walk
from models.simulator import SimulatorConfig, simulate
from models.transaction import Transaction

T0 = 1_772_368_200.0


def tx(i: int, **fields) -> Transaction:
    base = dict(
        transaction_id=f"t{i}",
        user_id="u",
        amount=20.0,
        timestamp=T0 + i * 3600.0,
        location="US",
        merchant_category="Grocery",
        payment_method="Debit Card",
        device_id="d1",
    )
    return Transaction(**{**base, **fields})


def history(n: int):
    """The state after n ordinary transactions, and the next one's observation helper."""
    events = [tx(i) for i in range(n)]
    states = list(walk([*events, tx(n)]))
    return states[-1][1], states[-1][2]


def test_vector_follows_feature_names():
    profile, velocity = history(3)
    assert len(observe(tx(3), profile, velocity).vector()) == len(FEATURE_NAMES)


def test_first_transaction_has_no_history():
    obs = observe(tx(0), None, None)
    assert obs.history == 0
    assert obs.amount_zscore == 0.0
    assert obs.seconds_since_last == NO_PREVIOUS_SECONDS
    v = dict(zip(FEATURE_NAMES, obs.vector(), strict=True))
    assert v["location_surprise"] == 0.0
    assert v["log_history"] == 0.0


def test_surprise_is_high_for_new_values_and_low_for_usual_ones():
    profile, velocity = history(20)
    usual = dict(zip(FEATURE_NAMES, observe(tx(20), profile, velocity).vector(), strict=True))
    new = dict(
        zip(
            FEATURE_NAMES,
            observe(tx(20, location="BR", device_id="d9"), profile, velocity).vector(),
            strict=True,
        )
    )
    confidence = 20 / 25
    assert new["location_surprise"] == pytest.approx(confidence)
    assert new["device_surprise"] == pytest.approx(confidence)
    assert usual["location_surprise"] == pytest.approx(confidence / 21)
    assert usual["merchant_category_surprise"] == usual["location_surprise"]


def test_surprise_is_small_for_newcomers():
    profile, velocity = history(1)
    obs = observe(tx(1, location="BR"), profile, velocity)
    assert obs.location_seen == 0
    assert obs.surprise(obs.location_seen) == pytest.approx(1 / 6)


def test_missing_optional_field_is_no_surprise():
    profile, velocity = history(5)
    obs = observe(tx(5, location=None), profile, velocity)
    assert obs.location_seen is None
    assert obs.surprise(obs.location_seen) == 0.0


def test_amount_zscore_grows_with_the_amount():
    profile, velocity = history(10)
    assert observe(tx(10, amount=20.0), profile, velocity).amount_zscore == pytest.approx(0.0)
    big = observe(tx(10, amount=2000.0), profile, velocity).amount_zscore
    assert big > 5
    assert math.isfinite(big)


def test_features_never_read_the_label():
    config = SimulatorConfig(users=50, fraud_rate=0.1, seed=3)
    transactions = list(simulate(config, 3000))
    relabelled = [
        dataclasses.replace(t, label=1 - t.label, anomaly_kind=None if t.label else "x")
        for t in transactions
    ]
    original = [observe(t, p, v).vector() for t, p, v in walk(transactions)]
    flipped = [observe(t, p, v).vector() for t, p, v in walk(relabelled)]
    assert original == flipped


def test_walk_shows_each_transaction_only_earlier_ones_of_its_user():
    events = [tx(0), tx(1, user_id="w"), tx(2), tx(3)]
    seen = [(t.transaction_id, p["count"] if p else 0) for t, p, _ in walk(events)]
    assert seen == [("t0", 0), ("t1", 0), ("t2", 1), ("t3", 2)]


@pytest.mark.parametrize("n", [0, 3])
def test_zero_amounts_give_finite_features_and_are_learnt(n):
    # A zero-amount verification, first or after history, counts as one cent where logs are taken.
    events = [tx(i) for i in range(n)] + [tx(n, amount=0.0), tx(n + 1, amount=0.0)]
    for event, profile, velocity in walk(events):
        assert all(math.isfinite(v) for v in observe(event, profile, velocity).vector())


def test_usual_places_count_as_one_and_new_ones_each():
    # Known: US and GB. Within ten minutes: US, GB, then FR (new) and NG (new).
    settled = [tx(i, location=("US", "GB")[i % 2]) for i in range(20)]
    t = T0 + 20 * 3600.0
    moves = [tx(20, location="US", timestamp=t), tx(21, location="GB", timestamp=t + 60)]
    *_, (event, profile, velocity) = walk(
        [*settled, *moves, tx(22, location="GB", timestamp=t + 120)]
    )
    assert observe(event, profile, velocity).new_places_10m == 1
    roaming = [*moves, tx(22, location="FR", timestamp=t + 120)]
    *_, (event, profile, velocity) = walk(
        [*settled, *roaming, tx(23, location="NG", timestamp=t + 180)]
    )
    obs = observe(event, profile, velocity)
    assert (obs.new_places_10m, obs.windows.locations_10m) == (3, 4)


def test_a_new_value_carries_the_users_count_of_new_values():
    events = [tx(i, device_id=f"d{i % 2}") for i in range(10)]
    *_, (event, profile, velocity) = walk([*events, tx(10, device_id="d9")])
    obs = observe(event, profile, velocity)
    assert obs.new_value_counts == {"devices": 2}  # d0 and d1 were each new once

import math

import orjson
import pytest

from models.features import observe
from models.history import walk
from models.signals import (
    POPULATION_AMOUNT_WEIGHT,
    RULE_SIGNALS,
    EvidenceInputs,
    Population,
    evidence_inputs,
    fit_population,
    signal_nats,
)
from models.transaction import Transaction

T0 = 1_772_368_200.0
EMPTY = Population()


def inputs(**changes) -> EvidenceInputs:
    base = dict(amount=20.0, amount_z=0.0, novel={}, hour=12, hour_novelty=None, rules=())
    return EvidenceInputs(**{**base, **changes})


def nonzero(nats: dict[str, float]) -> dict[str, float]:
    return {name: value for name, value in nats.items() if value}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {}),
        # One-sided: below the user's usual adds nothing; above, the normal tail's rarity.
        ({"amount_z": 2.0}, {"amount_above_usual": -math.log(math.erfc(2.0 / math.sqrt(2)))}),
        # A value new to a user who showed new ones in 1 of 48 transactions.
        ({"novel": {"new_location": ("FR", 1 / 50)}}, {"new_location": math.log(50)}),
        ({"hour_novelty": 0.1}, {"unusual_hour": math.log(10)}),
        ({"rules": ("CARD_TESTING",)}, {"CARD_TESTING": -math.log(RULE_SIGNALS["CARD_TESTING"])}),
    ],
)
def test_signals_without_a_population(changes, expected):
    assert nonzero(signal_nats(inputs(**changes), EMPTY)) == pytest.approx(expected)


TRAINED = Population(
    amount_quantiles=tuple(float(i) for i in range(101)),  # amounts 0..100, evenly
    hour_shares=tuple([0.0] * 6 + [1 / 18] * 18),  # nobody buys from midnight to 6
    value_shares={"new_location": {"US": 0.5, "GB": 0.49, "NG": 0.01}},
    rule_rates={"VELOCITY_BURST": 0.02},
)


@pytest.mark.parametrize(
    ("changes", "name", "nats"),
    [
        ({"amount": 50.0}, "amount_above_population", POPULATION_AMOUNT_WEIGHT * math.log(2)),
        # Beyond the largest amount training saw, ten times larger is ten times rarer.
        ({"amount": 1000.0}, "amount_above_population", POPULATION_AMOUNT_WEIGHT * math.log(1000)),
        # New to the user and rare among new places: both count.
        ({"novel": {"new_location": ("NG", 0.5)}}, "new_location", math.log(2) - math.log(0.03)),
        ({"novel": {"new_location": ("US", 0.5)}}, "new_location", math.log(2)),
        # At 3 AM, when nobody buys, a new hour counts its rarity in the population too.
        ({"hour": 3, "hour_novelty": 0.5}, "unusual_hour", math.log(2) + math.log(1e4)),
        ({"hour": 12, "hour_novelty": 0.5}, "unusual_hour", math.log(2)),
        ({"rules": ("VELOCITY_BURST",)}, "VELOCITY_BURST", math.log(50)),
    ],
)
def test_signals_with_a_population(changes, name, nats):
    assert signal_nats(inputs(**changes), TRAINED)[name] == pytest.approx(nats)


def test_a_small_amount_adds_no_population_evidence():
    assert "amount_above_population" not in signal_nats(inputs(amount=0.0), TRAINED)


def test_population_round_trips_through_json():
    data = orjson.loads(orjson.dumps(TRAINED.to_json()))
    assert Population.from_json(data) == TRAINED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hour_shares": [0.1] * 5}, "5 hour shares"),
        ({"amount_quantiles": [3.0, 1.0]}, "amount quantiles are not ascending"),
        ({"rule_rates": "often"}, "malformed"),
    ],
)
def test_malformed_population_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        Population.from_json({**TRAINED.to_json(), **change})


def tx(i: int, t: float, **fields) -> Transaction:
    return Transaction(f"t{i}", "u", fields.pop("amount", 20.0), t, **fields)


def last_inputs(events):
    *_, (event, profile, velocity) = walk(events)
    return evidence_inputs(observe(event, profile, velocity), [])


def test_novelty_follows_the_users_own_rate_of_new_values():
    settled = [tx(i, T0 + i * 86400, location="US") for i in range(40)]
    roaming = [tx(i, T0 + i * 86400, location=f"c{i}") for i in range(40)]
    new_place = {"location": "FR"}
    settled_fr = last_inputs([*settled, tx(40, T0 + 40 * 86400, **new_place)])
    roaming_fr = last_inputs([*roaming, tx(40, T0 + 40 * 86400, **new_place)])
    assert settled_fr.novel["new_location"] == ("FR", pytest.approx(2 / 42))
    assert roaming_fr.novel["new_location"][1] > 0.9


def test_fit_population_measures_the_training_rows():
    rows = [inputs(amount=float(a), hour=a % 24) for a in range(1, 101)]
    rows += [inputs(novel={"new_location": ("US", 0.5)}, rules=("VELOCITY_BURST",))]
    population = fit_population(rows, points=11)
    assert population.amount_quantiles[0] == 1.0
    assert population.amount_quantiles[-1] == 100.0
    assert sum(population.hour_shares) == pytest.approx(1.0)
    assert population.value_shares == {"new_location": {"US": 1.0}}
    assert population.rule_rates["VELOCITY_BURST"] == pytest.approx(1 / 101)

import pytest

from models.features import Observation
from models.rules import (
    DEFAULT_THRESHOLDS,
    REASON_CODES,
    RULES,
    SHARED_THRESHOLDS,
    RuleThresholds,
    evaluate_rules,
)
from models.transaction import Transaction
from models.velocity import Windows

QUIET = Windows(0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 1, 1, 0, {}, {})


def obs(**changes) -> Observation:
    base = dict(
        history=20,
        amount=40.0,
        amount_zscore=0.2,
        typical_amount=35.0,
        location_seen=12,
        merchant_category_seen=5,
        payment_method_seen=20,
        device_seen=20,
        merchant_seen=8,
        hour_seen=6,
        seconds_since_last=3600.0,
        windows=QUIET,
        new_value_counts={},
        new_places_10m=1,
        new_places_1h=1,
        hour=12,
        tx=Transaction("t", "u", 40.0, 1.7e9),
    )
    return Observation(**{**base, **changes})


def quiet(**changes) -> Windows:
    fields = {name: getattr(QUIET, name) for name in QUIET.__slots__}
    return Windows(**{**fields, **changes})


DEFAULT = RuleThresholds()


def test_ordinary_transaction_fires_nothing():
    assert evaluate_rules(obs(), DEFAULT) == []
    assert evaluate_rules(obs(windows=quiet(count_1m=1, count_10m=4, small_10m=1)), DEFAULT) == []


FIRING = [
        ({"amount": 6000.0}, "HIGH_AMOUNT"),
        ({"amount": 400.0, "amount_zscore": 2.0}, "HIGH_AMOUNT"),
        ({"amount_zscore": 4.0}, "AMOUNT_ZSCORE"),
        ({"location_seen": 0}, "NEW_LOCATION"),
        ({"merchant_category_seen": 0}, "NEW_MERCHANT_CATEGORY"),
        ({"payment_method_seen": 0}, "NEW_PAYMENT_METHOD"),
        ({"device_seen": 0}, "NEW_DEVICE"),
        ({"hour_seen": 0}, "UNUSUAL_HOUR"),
        ({"windows": quiet(count_1m=2)}, "VELOCITY_BURST"),
        ({"windows": quiet(count_10m=5)}, "VELOCITY_BURST"),
        ({"new_places_10m": 2}, "VELOCITY_MULTI_LOCATION"),
        ({"new_places_1h": 3}, "VELOCITY_MULTI_LOCATION"),
        ({"windows": quiet(small_10m=2), "amount": 1.0}, "CARD_TESTING"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "reason"), FIRING)
def test_each_rule_fires_on_its_own_evidence(changes, reason):
    assert evaluate_rules(obs(**changes), DEFAULT) == [reason]


def test_every_rule_declared_has_a_row_that_fires_it():
    assert {reason for _, reason in FIRING} == set(REASON_CODES)


class Reads(dict):
    """Thresholds that remember which were read."""

    def __init__(self, values):
        super().__init__(values)
        self.read = set()

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)


@pytest.mark.parametrize(("changes", "reason"), FIRING)
def test_a_rule_reads_only_the_thresholds_it_declares(changes, reason):
    rule = next(rule for rule in RULES if rule.code == reason)
    values = Reads(DEFAULT_THRESHOLDS)
    for observation in (obs(), obs(**changes)):
        rule.fires(observation, values)
    assert values.read <= {*rule.thresholds, *SHARED_THRESHOLDS}
    assert values.read >= set(rule.thresholds)


def test_a_threshold_no_rule_reads_is_refused():
    with pytest.raises(TypeError, match="no rule reads the threshold"):
        RuleThresholds(burst_count_2m=3)


def test_moving_among_known_places_is_not_multi_location():
    # Many places in the window, all of them usual ones: only new places count.
    assert evaluate_rules(obs(windows=quiet(locations_10m=3, locations_1h=4)), DEFAULT) == []


def test_habit_rules_wait_for_history():
    newcomer = obs(history=2, location_seen=0, device_seen=0, hour_seen=0, amount_zscore=9)
    assert evaluate_rules(newcomer, DEFAULT) == []
    assert evaluate_rules(obs(history=2, amount=9000.0), DEFAULT) == ["HIGH_AMOUNT"]


def test_missing_fields_fire_no_novelty_rule():
    assert evaluate_rules(obs(location_seen=None, device_seen=None), DEFAULT) == []


def test_reasons_come_in_canonical_order():
    fired = evaluate_rules(obs(device_seen=0, location_seen=0, amount=7000.0), DEFAULT)
    assert fired == sorted(fired, key=REASON_CODES.index)


def test_thresholds_from_environment():
    thresholds = RuleThresholds.from_env(
        {"TXWATCH_RULE_HIGH_AMOUNT": "100", "TXWATCH_RULE_MIN_HISTORY": "50"}
    )
    assert thresholds["high_amount"] == 100.0
    assert thresholds["min_history"] == 50
    assert evaluate_rules(obs(amount=150.0), thresholds) == ["HIGH_AMOUNT"]
    assert evaluate_rules(obs(location_seen=0), thresholds) == []


def test_thresholds_name_a_bad_value():
    with pytest.raises(ValueError, match="TXWATCH_RULE_BURST_COUNT_1M='many'"):
        RuleThresholds.from_env({"TXWATCH_RULE_BURST_COUNT_1M": "many"})

import itertools
import math
from collections import Counter, defaultdict

import orjson
import pytest

from models.simulator import (
    ANOMALY_KINDS,
    SimulatorConfig,
    SimUser,
    make_users,
    simulate,
    start_after,
)
from models.transaction import Transaction, parse_transaction, validate_transaction

DAY = 86_400.0
# Enough users and fraud for every kind to appear dozens of times.
RICH = SimulatorConfig(users=500, fraud_rate=0.05, seed=11)


def sample(config: SimulatorConfig, count: int) -> list[Transaction]:
    return list(simulate(config, count))


@pytest.fixture(scope="module")
def rich() -> list[Transaction]:
    txs = sample(RICH, 20_000)
    # The last day is cut off by count; drop it so every episode is whole.
    last_day = (txs[-1].timestamp - RICH.start) // DAY
    return [tx for tx in txs if (tx.timestamp - RICH.start) // DAY < last_day]


@pytest.fixture(scope="module")
def users() -> dict[str, SimUser]:
    return {user.user_id: user for user in make_users(RICH)}


def episodes(txs: list[Transaction], kind: str, gap: float = 900.0) -> list[list[Transaction]]:
    """One user's events of ``kind`` split where they are more than ``gap`` seconds apart."""
    by_user: dict[str, list[Transaction]] = defaultdict(list)
    for tx in txs:
        if tx.anomaly_kind == kind:
            by_user[tx.user_id].append(tx)
    found = []
    for events in by_user.values():
        current = [events[0]]
        for tx in events[1:]:
            if tx.timestamp - current[-1].timestamp > gap:
                found.append(current)
                current = []
            current.append(tx)
        found.append(current)
    return found


def span(events: list[Transaction]) -> float:
    return max(tx.timestamp for tx in events) - min(tx.timestamp for tx in events)


def hour_of(tx: Transaction) -> int:
    return int(tx.timestamp // 3600 % 24)


def single_events(txs: list[Transaction], kind: str) -> list[Transaction]:
    found = [tx for tx in txs if tx.anomaly_kind == kind]
    assert len(found) >= 10
    return found


def test_simulate_same_seed_gives_identical_stream():
    config = SimulatorConfig(users=50, fraud_rate=0.05, seed=3)
    assert sample(config, 2_000) == sample(config, 2_000)


def test_simulate_different_seed_gives_different_stream():
    first = sample(SimulatorConfig(users=50, seed=3), 500)
    second = sample(SimulatorConfig(users=50, seed=4), 500)
    assert [tx.transaction_id for tx in first] != [tx.transaction_id for tx in second]
    assert [tx.to_dict() | {"transaction_id": ""} for tx in first] != [
        tx.to_dict() | {"transaction_id": ""} for tx in second
    ]


def test_simulate_respects_count_and_is_a_prefix_of_longer_runs():
    config = SimulatorConfig(users=20, seed=5)
    assert len(sample(config, 1_234)) == 1_234
    assert sample(config, 0) == []
    assert sample(config, 300) == sample(config, 1_000)[:300]


def test_simulate_without_count_can_be_consumed_lazily():
    stream = simulate(SimulatorConfig(users=5, seed=1))
    assert len(list(itertools.islice(stream, 100))) == 100


def test_simulate_yields_in_event_time_order_with_unique_ids(rich):
    assert all(a.timestamp <= b.timestamp for a, b in itertools.pairwise(rich))
    assert len({tx.transaction_id for tx in rich}) == len(rich)
    assert rich[0].transaction_id == "tx-11-000000000"


def test_simulate_starts_at_start_and_advances_day_by_day():
    start = 1767225600.0 + 13 * 3600 + 1.5  # mid-day: nothing may come before it
    txs = sample(SimulatorConfig(users=200, seed=2, start=start), 5_000)
    assert min(tx.timestamp for tx in txs) >= start
    assert max(tx.timestamp for tx in txs) > start + 2 * DAY


def test_simulate_output_passes_validation_round_trip(rich):
    for tx in rich:
        assert validate_transaction(tx.to_dict()) == tx
        assert parse_transaction(orjson.dumps(tx.to_dict())) == tx
        assert tx.amount > 0
        assert round(tx.amount, 2) == tx.amount


def test_simulate_labels_match_anomaly_kinds(rich):
    for tx in rich:
        assert (tx.label, tx.anomaly_kind is None) in {(0, True), (1, False)}
        assert tx.anomaly_kind is None or tx.anomaly_kind in ANOMALY_KINDS


@pytest.mark.parametrize("fraud_rate", [0.01, 0.05])
def test_simulate_labelled_fraction_is_near_fraud_rate(fraud_rate):
    txs = sample(SimulatorConfig(users=1_000, fraud_rate=fraud_rate, seed=7), 20_000)
    fraction = sum(tx.label for tx in txs) / len(txs)
    # fraud_rate counts labelled transactions, episodes of several included.
    assert fraud_rate / 2 <= fraction <= fraud_rate * 2


def test_simulate_without_fraud_labels_nothing():
    txs = sample(SimulatorConfig(users=100, fraud_rate=0.0, seed=7), 3_000)
    assert all(tx.label == 0 for tx in txs)


def test_simulate_produces_every_anomaly_kind(rich):
    counts = Counter(tx.anomaly_kind for tx in rich)
    for kind in ANOMALY_KINDS:
        assert counts[kind] >= 10, kind


def test_simulate_normal_transactions_follow_user_habits(rich, users):
    for tx in rich:
        if tx.label:
            continue
        user = users[tx.user_id]
        assert tx.location in user.locations
        assert tx.merchant_category in user.categories
        assert tx.merchant_id in user.merchants
        assert tx.payment_method in user.payment_methods
        assert tx.device_id in user.devices
        assert tx.currency == user.currency
        assert hour_of(tx) in user.hours


def test_simulate_unusual_location_changes_only_the_location(rich, users):
    for tx in single_events(rich, "unusual_location"):
        user = users[tx.user_id]
        assert tx.location not in user.locations
        assert tx.merchant_category in user.categories
        assert tx.payment_method in user.payment_methods
        assert hour_of(tx) in user.hours


def test_simulate_high_amount_is_far_above_the_median(rich, users):
    for tx in single_events(rich, "high_amount"):
        user = users[tx.user_id]
        assert tx.amount >= 300
        assert tx.amount >= 5 * user.amount_median - 0.01
        assert tx.location in user.locations


def test_simulate_unusual_merchant_category_is_new_to_the_user(rich, users):
    for tx in single_events(rich, "unusual_merchant_category"):
        user = users[tx.user_id]
        assert tx.merchant_category not in user.categories
        assert tx.merchant_id not in user.merchants
        assert tx.location in user.locations


def test_simulate_unusual_hour_is_far_from_typical_hours(rich, users):
    for tx in single_events(rich, "unusual_hour"):
        hour = hour_of(tx)
        assert 1 <= hour <= 5
        assert all(min((hour - h) % 24, (h - hour) % 24) >= 3 for h in users[tx.user_id].hours)


def test_simulate_unusual_payment_method_is_never_used_by_the_user(rich, users):
    for tx in single_events(rich, "unusual_payment_method"):
        user = users[tx.user_id]
        assert tx.payment_method not in user.payment_methods
        assert tx.merchant_category in user.categories


def test_simulate_normal_days_stay_in_one_place(rich):
    places: dict[tuple[str, int], set[str | None]] = {}
    for tx in rich:
        if tx.label == 0:
            places.setdefault((tx.user_id, int(tx.timestamp // 86400)), set()).add(tx.location)
    assert all(len(where) == 1 for where in places.values())


def test_simulate_rapid_burst_has_5_to_10_events_within_3_minutes(rich):
    bursts = episodes(rich, "rapid_burst")
    assert len(bursts) >= 10
    for burst in bursts:
        assert 5 <= len(burst) <= 10
        assert span(burst) <= 180


def test_simulate_multi_location_spans_3_foreign_countries_within_10_minutes(rich, users):
    found = episodes(rich, "multi_location")
    assert len(found) >= 10
    for events in found:
        assert 3 <= len(events) <= 4
        assert len({tx.location for tx in events}) == len(events)
        assert not {tx.location for tx in events} & set(users[events[0].user_id].locations)
        assert span(events) <= 600


def test_simulate_card_testing_is_many_tiny_amounts_in_minutes(rich):
    found = episodes(rich, "card_testing")
    assert len(found) >= 10
    for events in found:
        assert 6 <= len(events) <= 15
        assert all(0.5 <= tx.amount <= 3.0 for tx in events)
        assert span(events) <= 300


def test_make_users_gives_plausible_profiles():
    config = SimulatorConfig(users=2_000, seed=9)
    made = make_users(config)
    assert [u.user_id for u in made[:2]] == ["u00001", "u00002"]
    assert len({u.user_id for u in made}) == 2_000
    for user in made:
        assert 1 <= len(user.locations) <= 3
        assert 2 <= len(user.categories) <= 4
        assert 15 <= user.amount_median <= 250
        assert 0.4 <= user.amount_sigma <= 0.7
        assert 1 <= len(user.payment_methods) <= 2
        assert 3 <= len(user.hours) <= 6
        assert all(6 <= h <= 23 for h in user.hours)
        assert 1 <= len(user.devices) <= 2
        assert 1 <= user.activity <= 12
        assert 5 <= len(user.merchants) <= 15
    risky = sum("Jewelry" in u.categories or "Gambling" in u.categories for u in made)
    assert risky < len(made) * 0.15
    assert sum("Crypto" in u.payment_methods for u in made) < len(made) * 0.05
    assert make_users(config) == made


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"users": 0}, "users"),
        ({"users": 2.5}, "users"),
        ({"fraud_rate": -0.1}, "fraud_rate"),
        ({"fraud_rate": 0.6}, "fraud_rate"),
        ({"fraud_rate": math.nan}, "fraud_rate"),
        ({"start": 0.0}, "start"),
        ({"users_seed": True}, "users_seed"),
        ({"users_seed": "1"}, "users_seed"),
    ],
)
def test_simulator_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**changes)


def test_simulate_rejects_negative_count():
    with pytest.raises(ValueError, match="count"):
        simulate(SimulatorConfig(users=1), -1)


def test_a_users_seed_keeps_the_users_and_changes_their_transactions():
    first = SimulatorConfig(users=50, seed=3, users_seed=1)
    second = SimulatorConfig(users=50, seed=4, users_seed=1)
    assert make_users(first) == make_users(second) == make_users(SimulatorConfig(users=50, seed=1))
    assert make_users(SimulatorConfig(users=50, seed=3)) != make_users(first)
    one, other = list(simulate(first, 200)), list(simulate(second, 200))
    assert {tx.transaction_id for tx in one}.isdisjoint(tx.transaction_id for tx in other)
    assert [tx.amount for tx in one] != [tx.amount for tx in other]


def test_a_following_simulation_starts_the_day_after_the_newest_event_today_at_the_earliest():
    day = 86_400.0
    today = 20_000 * day  # a midnight
    now = today + 3_600
    assert start_after(None, now) == today
    assert start_after(today - 5 * day, now) == today  # long ago: today
    assert start_after(today + 2 * day + 1, now) == today + 3 * day
    assert start_after(today + 2 * day, now) == today + 3 * day  # at midnight: not that day

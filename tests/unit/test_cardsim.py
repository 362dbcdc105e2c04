import dataclasses
import itertools
import math
import random
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time

import pytest

from models.cardsim import (
    SCENARIOS,
    CardSimConfig,
    _customers,
    _daily_draws,
    _tables,
    simulate_cards,
)
from models.transaction import Transaction

HIGH, TERMINAL, CARD = SCENARIOS
DAY = 86_400
SMALL = CardSimConfig(customers=300, terminals=600, days=20, seed=3)
MEDIUM = CardSimConfig(customers=2000, terminals=4000, days=60, seed=7)
# The handbook's published run (its defaults): transactions and frauds by scenario.
HANDBOOK_TXS, HANDBOOK_KINDS = 1_754_155, {HIGH: 973, TERMINAL: 9077, CARD: 4631}


@pytest.fixture(scope="module")
def medium() -> list[Transaction]:
    return list(simulate_cards(MEDIUM))


def epoch(config: CardSimConfig) -> int:
    return int(datetime.combine(date.fromisoformat(config.start), time(), UTC).timestamp())


def day_of(config: CardSimConfig, tx: Transaction) -> int:
    return int(tx.timestamp - epoch(config)) // DAY


def ramp(days: int, window: int) -> float:
    """The mean share of a window-long episode's steady state over ``days`` from day 0."""
    return sum(min(d + 1, window) for d in range(days)) / (days * window)


def expected_shares(config: CardSimConfig) -> dict[str, float]:
    """Each scenario's share of transactions the method implies: 2 of the terminals for 28
    days, a third of 3 customers' transactions for 14 days, and the handbook's share > 220."""
    return {
        HIGH: HANDBOOK_KINDS[HIGH] / HANDBOOK_TXS,
        TERMINAL: 2 * 28 / config.terminals * ramp(config.days, 28),
        CARD: 3 * 14 / config.customers / 3 * ramp(config.days, 14),
    }


def test_the_expected_shares_reproduce_the_handbooks_published_run() -> None:
    shares = expected_shares(CardSimConfig())
    for kind in (TERMINAL, CARD):
        assert shares[kind] == pytest.approx(HANDBOOK_KINDS[kind] / HANDBOOK_TXS, rel=0.05)
    assert sum(shares.values()) == pytest.approx(0.008369, rel=0.03)


def test_same_config_same_stream_and_another_seed_another() -> None:
    first = list(simulate_cards(SMALL))
    state = random.getstate()
    try:
        random.seed(12345)  # the global generator plays no part
        assert list(simulate_cards(SMALL)) == first
    finally:
        random.setstate(state)
    other = list(simulate_cards(dataclasses.replace(SMALL, seed=4)))
    assert other != first
    assert len(first) > 1000
    assert {tx.label for tx in first} == {0, 1}


def test_the_stream_is_pinned() -> None:
    """Others build on these exact streams: a change here is a change of data set."""
    txs = list(simulate_cards(SMALL))
    totals = len(txs), sum(tx.label for tx in txs), math.fsum(tx.amount for tx in txs)
    assert totals == (11365, 753, 678856.6)
    assert txs[0] == Transaction("hb-0", "126", 104.57, 1522541110.0, merchant_id="171", label=0)


def test_days_are_in_time_order_with_unique_ids_numbered_in_order(
    medium: list[Transaction],
) -> None:
    stamps = [tx.timestamp for tx in medium]
    assert stamps == sorted(stamps)
    assert [tx.transaction_id for tx in medium] == [f"hb-{n}" for n in range(len(medium))]
    start = epoch(MEDIUM)
    assert start <= stamps[0]
    assert stamps[-1] < start + MEDIUM.days * DAY
    # Whole seconds strictly inside each day, as the handbook keeps them.
    seconds = [int(s - start) % DAY for s in stamps]
    assert all(s == int(s) for s in stamps)
    assert 0 not in seconds
    assert {day_of(MEDIUM, tx) for tx in medium} == set(range(MEDIUM.days))


def test_times_are_drawn_around_noon(medium: list[Transaction]) -> None:
    seconds = [int(tx.timestamp - epoch(MEDIUM)) % DAY for tx in medium]
    assert statistics.fmean(seconds) == pytest.approx(DAY / 2, abs=300)
    # normal(43200, 20000) cut to the day has a standard deviation of about 18,800 s.
    assert 18_000 < statistics.pstdev(seconds) < 19_500


def test_fields_follow_the_transaction_contract(medium: list[Transaction]) -> None:
    for tx in medium:
        assert 0 <= int(tx.user_id) < MEDIUM.customers
        assert tx.user_id == str(int(tx.user_id))
        assert 0 <= int(tx.merchant_id) < MEDIUM.terminals
        assert (tx.label == 0) == (tx.anomaly_kind is None)
        assert tx.anomaly_kind in (None, *SCENARIOS)
        assert (tx.currency, tx.location, tx.merchant_category) == (None, None, None)
        assert (tx.payment_method, tx.device_id) == (None, None)


def test_amounts_are_non_negative_cents(medium: list[Transaction]) -> None:
    assert all(tx.amount >= 0 and round(tx.amount, 2) == tx.amount for tx in medium)
    assert all(type(tx.amount) is float for tx in medium)


def test_every_amount_above_220_is_fraud(medium: list[Transaction]) -> None:
    high = [tx for tx in medium if tx.amount > 220]
    assert len(high) > 100
    assert all(tx.label == 1 for tx in high)
    assert all(tx.amount > 220 for tx in medium if tx.anomaly_kind == HIGH)


def test_customers_use_exactly_the_terminals_within_the_radius() -> None:
    for radius in (0.3, 5.0, 17.5, 150.0):
        config = CardSimConfig(customers=60, terminals=400, days=1, radius=radius, seed=5)
        drawn, places = _tables(config)
        for (x, y, _, _), customer in zip(drawn, _customers(config), strict=True):
            near = [
                t
                for t, (u, v) in enumerate(places)
                if math.sqrt((u - x) ** 2 + (v - y) ** 2) < radius
            ]
            assert customer.terminals == tuple(near)
            if radius > 100 * math.sqrt(2):  # the whole grid
                assert len(near) == config.terminals


def test_transactions_use_the_customers_terminals(medium: list[Transaction]) -> None:
    allowed = [set(c.terminals) for c in _customers(MEDIUM)]
    assert all(int(tx.merchant_id) in allowed[int(tx.user_id)] for tx in medium)


def test_compromised_terminals_take_every_transaction_of_their_28_days(
    medium: list[Transaction],
) -> None:
    windows: dict[int, set[int]] = defaultdict(set)  # terminal -> its compromised days
    for day, (terminals, _) in enumerate(_daily_draws(MEDIUM)):
        for terminal in terminals:
            windows[terminal].update(range(day, day + 28))
    inside = [tx for tx in medium if day_of(MEDIUM, tx) in windows.get(int(tx.merchant_id), ())]
    assert len(inside) > 1000
    assert all(tx.label == 1 for tx in inside)
    assert Counter(tx.anomaly_kind for tx in inside).keys() <= {TERMINAL, CARD}
    # ... and none outside them is of that kind.
    for tx in medium:
        if tx.anomaly_kind == TERMINAL:
            assert day_of(MEDIUM, tx) in windows[int(tx.merchant_id)]


def test_compromised_cards_lose_a_third_of_their_14_days(medium: list[Transaction]) -> None:
    draws = [customers for _, customers in _daily_draws(MEDIUM)]
    drawn_on: dict[int, list[int]] = defaultdict(list)
    for day, customers in enumerate(draws):
        for customer in customers:
            drawn_on[customer].append(day)
    by_customer: dict[int, list[Transaction]] = defaultdict(list)
    for tx in medium:
        by_customer[int(tx.user_id)].append(tx)
    # Every compromised-card fraud falls in a window of its customer's draw.
    for tx in medium:
        if tx.anomaly_kind == CARD:
            day = day_of(MEDIUM, tx)
            assert any(d <= day < d + 14 for d in drawn_on[int(tx.user_id)])
    # Where no victim of a day is drawn again within 14 days either side, exactly a
    # third (rounded down) of the victims' pooled transactions of the window are taken.
    checked = 0
    for day, customers in enumerate(draws):
        if any(abs(d - day) < 14 and d != day for c in customers for d in drawn_on[c]):
            continue
        window = [
            tx for c in customers for tx in by_customer[c] if day <= day_of(MEDIUM, tx) < day + 14
        ]
        assert sum(tx.anomaly_kind == CARD for tx in window) == len(window) // 3
        checked += 1
    assert checked > 20


def test_compromised_card_amounts_are_five_times_the_usual(medium: list[Transaction]) -> None:
    amounts: dict[str, dict[bool, list[float]]] = defaultdict(lambda: defaultdict(list))
    for tx in medium:
        if tx.anomaly_kind in (None, CARD):
            amounts[tx.user_id][tx.anomaly_kind == CARD].append(tx.amount)
    ratios = [
        statistics.fmean(a[True]) / statistics.fmean(a[False])
        for a in amounts.values()
        if len(a[True]) >= 5 and a[False]
    ]
    assert len(ratios) > 50
    assert 4.5 < statistics.median(ratios) < 5.5


def test_fraud_shares_match_the_handbooks_rescaled(medium: list[Transaction]) -> None:
    kinds = Counter(tx.anomaly_kind for tx in medium)
    shares = {kind: kinds[kind] / len(medium) for kind in SCENARIOS}
    expected = expected_shares(MEDIUM)
    assert shares[HIGH] == pytest.approx(expected[HIGH], rel=0.3)
    for kind in (TERMINAL, CARD):
        assert shares[kind] == pytest.approx(expected[kind], rel=0.2)
    rate = sum(tx.label for tx in medium) / len(medium)
    assert rate == pytest.approx(sum(expected.values()), rel=0.15)
    # About 0.97 of the attempts (2 a day on average) fall inside their day.
    assert len(medium) / MEDIUM.days / MEDIUM.customers == pytest.approx(2 * 0.969, rel=0.04)


def test_default_config_is_the_handbooks_and_streams_from_its_first_day() -> None:
    config = CardSimConfig()
    assert (config.customers, config.terminals, config.days) == (5000, 10000, 183)
    assert (config.start, config.radius) == ("2018-04-01", 5.0)
    first = list(itertools.islice(simulate_cards(config), 3))
    assert first[0].transaction_id == "hb-0"
    assert 1522540800 <= first[0].timestamp < 1522540800 + DAY  # 2018-04-01 UTC


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.days = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"customers": 0}, "customers must be an integer"),
        ({"customers": 2.0}, "customers must be an integer"),
        ({"terminals": True}, "terminals must be an integer"),
        ({"days": -1}, "days must be an integer"),
        ({"radius": 0}, "radius must be finite and > 0"),
        ({"radius": math.nan}, "radius must be finite and > 0"),
        ({"radius": math.inf}, "radius must be finite and > 0"),
        ({"radius": "5"}, "radius must be a number"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"start": "2018-13-01"}, "start must be an ISO date"),
        ({"start": 1522540800}, "start must be an ISO date"),
        ({"start": "1999-12-31"}, "within 2000-2100"),
        ({"start": "2099-12-01", "days": 60}, "within 2000-2100"),
    ],
)
def test_invalid_configs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CardSimConfig(**changes)  # type: ignore[arg-type]

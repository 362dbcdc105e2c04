import math

import pytest

from models.labels import Label
from models.merchant_risk import (
    DAY,
    MIN_SHARE,
    WINDOW_DAYS,
    MerchantView,
    count_transaction,
    merchant_nats,
    merchant_view,
    record_label,
)

T0 = 1_767_225_600.0  # 2026-01-01, midnight UTC


def record(days: int, per_day: int = 4):
    state = None
    for d in range(days):
        for i in range(per_day):
            state = count_transaction(state, T0 + d * DAY + i * 60, offset=d * per_day + i)
    return state


def fraud(tx: str, day: int, label: int = 1) -> Label:
    return Label(tx, "u", label, T0 + (day + 7) * DAY, "m", T0 + day * DAY + 30)


def test_transactions_are_counted_over_the_window_only():
    state = record(40)
    assert merchant_view(state, T0 + 39 * DAY).transactions == 4 * WINDOW_DAYS
    assert len(state["days"]) == WINDOW_DAYS  # older days forgotten


def test_a_fraud_counts_once_and_a_genuine_label_takes_it_back():
    state = record(10)
    record_label(state, fraud("t1", 2))
    record_label(state, fraud("t1", 2))  # delivered twice
    record_label(state, fraud("t2", 3))
    assert merchant_view(state, T0 + 9 * DAY) == MerchantView(40, 2)
    record_label(state, fraud("t1", 2, label=0))
    assert merchant_view(state, T0 + 9 * DAY) == MerchantView(40, 1)


def test_frauds_leave_the_view_with_their_day():
    state = record(10)
    record_label(state, fraud("t1", 5))
    assert merchant_view(state, T0 + (4 + WINDOW_DAYS) * DAY).frauds == 1
    assert merchant_view(state, T0 + (5 + WINDOW_DAYS) * DAY).frauds == 0


@pytest.mark.parametrize(
    ("view", "rate", "nats"),
    [
        (MerchantView(100, 0), 0.01, 0.0),
        # One fraud where one is expected: little news.
        (MerchantView(100, 1), 0.01, -math.log(1 - math.exp(-1.0))),
        # Ten among forty is a compromised terminal: capped at the signals' floor.
        (MerchantView(40, 10), 0.01, -math.log(MIN_SHARE)),
        # More frauds than transactions counted (labels for days before the record).
        (MerchantView(0, 2), 0.01, -math.log(1 - math.exp(-0.02) * (1 + 0.02))),
    ],
)
def test_merchant_nats_is_the_rarity_of_so_many_frauds(view, rate, nats):
    assert merchant_nats(view, rate) == pytest.approx(nats, rel=1e-6)


def test_more_frauds_mean_more_evidence():
    values = [merchant_nats(MerchantView(200, k), 0.005) for k in range(1, 6)]
    assert values == sorted(values)
    assert values[0] < 1.0 < values[2]

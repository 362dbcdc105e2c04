import pytest

from models.merchant_activity import MerchantCounts, apply_activity, parse_activity
from models.merchant_flush import MerchantFlush
from models.merchant_risk import merchant_view

T0 = 1_767_225_600.0


def batch(merchants: range, offset: int) -> MerchantCounts:
    counts = MerchantCounts()
    for i in merchants:
        counts.add(f"m{i}", T0, partition=0, offset=offset)
    return counts


@pytest.mark.parametrize(
    ("interval", "times", "sent"),
    [
        # Nothing goes before the first interval ends; then evenly over the next one.
        (60.0, [1, 30, 59, 60, 75, 90, 105, 119], [0, 0, 0, 0, 25, 25, 25, 24]),
        # A late batch sends whatever its share says at once.
        (60.0, [1, 60, 200], [0, 0, 100]),
        # Interval 0: every batch's counts at once.
        (0.0, [1, 2], [100, 0]),
    ],
)
def test_an_interval_of_counts_goes_out_evenly_over_the_next(interval, times, sent):
    flush = MerchantFlush(interval, now=0.0)
    out = []
    for i, now in enumerate(times):
        counts = batch(range(100), offset=i) if i == 0 else MerchantCounts()
        out.append(len(flush.due(counts, now=float(now))))
    assert out == sent


def test_every_transaction_reaches_its_merchant_once_in_offset_order():
    flush = MerchantFlush(10.0, now=0.0)
    records: dict[str, dict] = {}
    offset = 0
    for second in range(0, 95):
        counts = MerchantCounts()
        for i in range(40):  # 40 transactions a second over 7 merchants
            counts.add(f"m{(second + i) % 7}", T0 + second, partition=offset % 3, offset=offset)
            offset += 1
        for key, value in flush.due(counts, now=float(second)).messages():
            merchant = key.decode()
            records[merchant], _ = apply_activity(records.get(merchant), parse_activity(value))
    for key, value in flush.due(MerchantCounts(), now=1_000.0).messages():
        records[key.decode()], _ = apply_activity(records.get(key.decode()), parse_activity(value))
    for key, value in flush.due(MerchantCounts(), now=2_000.0).messages():
        records[key.decode()], _ = apply_activity(records.get(key.decode()), parse_activity(value))
    total = sum(merchant_view(r, T0 + 100).transactions for r in records.values())
    assert total == 95 * 40  # none left out as a replay, none counted twice


def test_too_many_merchants_start_being_sent_before_the_interval_ends():
    flush = MerchantFlush(60.0, now=0.0, max_merchants=50)
    assert len(flush.due(batch(range(80), offset=0), now=1.0)) == 0
    assert len(flush.due(MerchantCounts(), now=31.0)) == 40

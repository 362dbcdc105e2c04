import orjson
import pytest

from models.labels import Label
from models.merchant_activity import (
    Counted,
    InvalidActivity,
    MerchantCounts,
    apply_activity,
    label_message,
    parse_activity,
)
from models.merchant_risk import (
    DAY,
    REPUBLISH_CHANGE,
    MerchantView,
    merchant_view,
    publication,
    risk_record,
    risk_view,
)

T0 = 1_767_225_600.0  # 2026-01-01, midnight UTC
DAY0 = int(T0 // DAY)


def fraud(tx: str, day: int, label: int = 1) -> Label:
    return Label(tx, "u", label, T0 + (day + 7) * DAY, "m", T0 + day * DAY + 30)


def test_counts_go_as_one_message_per_merchant_however_many_batches_and_partitions():
    counts, later = MerchantCounts(), MerchantCounts()
    for offset, (merchant, partition, day) in enumerate(
        [("a", 0, 0), ("b", 0, 0), ("a", 0, 1), ("a", 1, 1), ("a", 0, 1)]
    ):
        (counts if offset < 3 else later).add(merchant, T0 + day * DAY, partition, offset)
    counts.merge(later)
    assert (len(counts), counts.transactions) == (2, 5)
    sent = [(key, parse_activity(value)) for key, value in counts.messages()]
    assert sent == [
        (b"a", Counted({DAY0: 1, DAY0 + 1: 3}, {0: 4, 1: 3})),
        (b"b", Counted({DAY0: 1}, {0: 1})),
    ]


def test_a_label_travels_whole():
    label = fraud("t9", 2)
    key, value = label_message(label)
    assert key == b"m"
    assert parse_activity(value) == label


def test_a_label_without_merchant_has_no_message():
    with pytest.raises(ValueError, match="names no merchant"):
        label_message(Label("t1", "u", 1, T0))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty"),
        (b"{", "invalid_json"),
        (b"[1]", "not_an_object"),
        (b'{"kind": "refund"}', "invalid_kind"),
        (b'{"kind": "counts"}', "invalid_counts"),
        (b'{"kind": "counts", "days": {}, "offsets": {"0": 1}}', "invalid_counts"),
        (b'{"kind": "counts", "days": {"x": 1}, "offsets": {"0": 1}}', "invalid_counts"),
        (b'{"kind": "counts", "days": {"1": 0}, "offsets": {"0": 1}}', "invalid_counts"),
        (b'{"kind": "counts", "days": {"1": 1}, "offsets": {}}', "invalid_counts"),
        (b'{"kind": "counts", "days": {"1": 1}, "offsets": {"-1": 1}}', "invalid_counts"),
        (b'{"kind": "counts", "days": {"1": 1}, "offsets": {"0": true}}', "invalid_counts"),
        (b'{"kind": "counts", "days": [1], "offsets": {"0": 1}}', "invalid_counts"),
        (b'{"kind": "label", "label": {"label": 2, "known_at": 0}}', "invalid_label"),
        (b'{"kind": "label"}', "not_an_object"),
    ],
)
def test_messages_txwatch_did_not_write_are_refused_with_a_reason(value, reason):
    with pytest.raises(InvalidActivity) as caught:
        parse_activity(value)
    assert caught.value.reason == reason


def test_counts_sent_again_after_a_crash_are_counted_once():
    state, _ = apply_activity(None, Counted({DAY0: 3}, {0: 10, 2: 5}))
    state, _ = apply_activity(state, Counted({DAY0: 2}, {1: 4}))
    state, _ = apply_activity(state, Counted({DAY0: 3}, {0: 10, 2: 5}))  # replayed
    state, _ = apply_activity(state, Counted({DAY0: 1}, {0: 8}))  # older still
    state, _ = apply_activity(state, Counted({DAY0: 1}, {0: 11}))
    state, _ = apply_activity(state, Counted({DAY0: 1}, {2: 9, 1: 2}))  # partly new: counted
    assert merchant_view(state, T0).transactions == 7
    assert state["sources"] == {"0": 11, "1": 4, "2": 9}


def test_only_a_label_that_changes_the_record_says_so():
    state, changed = apply_activity(None, Counted({DAY0: 5}, {0: 1}))
    assert not changed
    steps = [(fraud("t1", 0), True), (fraud("t1", 0), False), (fraud("t1", 0, 0), True),
             (fraud("t1", 0, 0), False)]  # fmt: skip
    for label, expected in steps:
        state, changed = apply_activity(state, label)
        assert changed is expected


def test_the_compact_record_gives_the_same_view_as_the_whole():
    state, _ = apply_activity(None, Counted({DAY0 + d: 10 for d in range(20)}, {0: 1}))
    for tx, day in [("t1", 3), ("t2", 15), ("t3", 15), ("t4", 19)]:
        apply_activity(state, fraud(tx, day))
    record = orjson.loads(orjson.dumps(risk_record(state)))  # as it travels
    for day in range(0, 40):
        at = T0 + day * DAY + 5
        assert risk_view(record, at) == merchant_view(state, at)
    assert risk_view(None, T0) == MerchantView(0, 0)


def test_a_merchant_without_fraud_is_never_published():
    state, _ = apply_activity(None, Counted({DAY0: 100}, {0: 1}))
    assert risk_record(state) is None
    assert publication(state, label_changed=False) == (False, None)


def test_risk_is_published_on_labels_new_days_and_big_moves_then_retracted():
    state, _ = apply_activity(None, Counted({DAY0: 100}, {0: 1}))
    state, changed = apply_activity(state, fraud("t1", 0))
    due, record = publication(state, changed)
    assert due
    assert record == {"days": {str(DAY0): 100}, "frauds": {str(DAY0): 1}}
    small = int(100 * REPUBLISH_CHANGE)  # not beyond the change allowed
    apply_activity(state, Counted({DAY0: small}, {0: 2}))
    assert publication(state, False)[0] is False
    apply_activity(state, Counted({DAY0: 1}, {0: 3}))
    assert publication(state, False)[0] is True
    apply_activity(state, Counted({DAY0 + 1: 1}, {0: 4}))  # a new day
    assert publication(state, False)[0] is True
    state, changed = apply_activity(state, fraud("t1", 0, label=0))  # cleared
    assert publication(state, changed) == (True, None)
    assert publication(state, False) == (False, None)  # retracted once

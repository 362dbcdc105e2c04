"""What reaches a merchant's record: the ``merchant-activity`` topic, keyed by merchant.

``transactions`` is keyed by user, so a merchant's transactions are spread
over every partition. The scoring agent repartitions them as counts: it
adds up each merchant's transactions per UTC day (:class:`MerchantCounts`)
and sends one message per merchant now and then (a minute by default), not
one per transaction: a merchant's 14-day record needs no fresher counts,
and a message through Faust costs about what scoring a transaction does.
The labels agent sends each label that names a merchant. Both land in the
merchant's partition of ``merchant-activity``, where one agent keeps its
record (:mod:`models.merchant_risk`).

>>> counts = MerchantCounts()
>>> counts.add("m1", 1767225600.0, partition=3, offset=41)
>>> counts.add("m1", 1767229200.0, partition=3, offset=44)
>>> counts.add("m1", 1767229200.0, partition=0, offset=7)
>>> [(key, parse_activity(value)) for key, value in counts.messages()]
[(b'm1', Counted(days={20454: 3}, offsets={3: 44, 0: 7}))]
>>> parse_activity(b'{"kind": "refund"}')
Traceback (most recent call last):
...
models.merchant_activity.InvalidActivity: invalid_kind: kind must be counts or label, got 'refund'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from models.labels import InvalidLabel, Label, validate_label
from models.merchant_risk import DAY, MerchantState, count_days, new_merchant, record_label
from models.transaction import InvalidTransaction, decode_message


class InvalidActivity(ValueError):
    """A ``merchant-activity`` message txwatch did not write; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Counted:
    """A merchant's transactions per UTC day, up to an offset of each source partition."""

    days: dict[int, int]
    offsets: dict[int, int]


Activity = Counted | Label


@dataclass(slots=True)
class MerchantCounts:
    """Transactions counted per merchant and UTC day, with the source offsets they reach."""

    _days: dict[str, dict[int, int]] = field(default_factory=dict)
    _offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    transactions: int = 0

    def add(self, merchant_id: str, timestamp: float, partition: int, offset: int) -> None:
        """Count one transaction; within a partition, ``offset`` grows from call to call."""
        days = self._days.get(merchant_id)
        if days is None:
            days = self._days[merchant_id] = {}
            self._offsets[merchant_id] = {}
        day = int(timestamp // DAY)
        days[day] = days.get(day, 0) + 1
        self._offsets[merchant_id][partition] = offset
        self.transactions += 1

    def merge(self, other: MerchantCounts) -> None:
        """Add ``other``'s counts (taken after this one's) to these."""
        for merchant_id, days in other._days.items():
            mine = self._days.get(merchant_id)
            if mine is None:
                self._days[merchant_id] = dict(days)
                self._offsets[merchant_id] = dict(other._offsets[merchant_id])
                continue
            for day, count in days.items():
                mine[day] = mine.get(day, 0) + count
            self._offsets[merchant_id].update(other._offsets[merchant_id])
        self.transactions += other.transactions

    def __len__(self) -> int:
        return len(self._days)

    def take(self, merchants: int) -> MerchantCounts:
        """The counts of the first ``merchants`` merchants, removed from these."""
        taken = MerchantCounts()
        for merchant_id in list(self._days)[: max(0, merchants)]:
            days = self._days.pop(merchant_id)
            taken._days[merchant_id] = days
            taken._offsets[merchant_id] = self._offsets.pop(merchant_id)
            taken.transactions += sum(days.values())
        self.transactions -= taken.transactions
        return taken

    def messages(self) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` of each message to send, in the order merchants were first seen."""
        for merchant_id, days in self._days.items():
            value = {"kind": "counts", "days": days, "offsets": self._offsets[merchant_id]}
            yield merchant_id.encode(), orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def label_message(label: Label) -> tuple[bytes, bytes]:
    """``(key, value)`` of the message that takes ``label`` to its merchant's record."""
    if label.merchant_id is None:
        raise ValueError(f"label of {label.transaction_id!r} names no merchant")
    value = {"kind": "label", "label": label.to_dict()}
    return label.merchant_id.encode(), orjson.dumps(value)


def parse_activity(raw: bytes | None) -> Activity:
    """Decode one ``merchant-activity`` message; :class:`InvalidActivity` says what is wrong."""
    try:
        data = decode_message(raw)
    except InvalidTransaction as exc:
        raise InvalidActivity(exc.reason, exc.detail) from None
    if not isinstance(data, dict):
        raise InvalidActivity("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind == "label":
        try:
            return validate_label(data.get("label"))
        except InvalidLabel as exc:
            raise InvalidActivity(exc.reason, exc.detail) from None
    if kind != "counts":
        raise InvalidActivity("invalid_kind", f"kind must be counts or label, got {kind!r}")
    try:
        days = {int(day): _count(n) for day, n in data["days"].items()}
        offsets = {int(p): _offset(o) for p, o in data["offsets"].items()}
        if not days or not offsets or min(offsets) < 0:
            raise ValueError("days and offsets must not be empty, partitions not negative")
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise InvalidActivity("invalid_counts", repr(exc)) from None
    return Counted(days, offsets)


def apply_activity(state: MerchantState | None, activity: Activity) -> tuple[MerchantState, bool]:
    """The merchant's record with ``activity`` taken in, and whether a label changed it."""
    record = state if state is not None else new_merchant()
    if isinstance(activity, Label):
        return record, record_label(record, activity)
    count_days(record, activity.days, activity.offsets)
    return record, False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _offset(value: Any) -> int:
    if not _is_int(value):
        raise ValueError(f"an offset must be an integer, got {value!r}")
    return int(value)


def _count(value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"a day's count must be a positive integer, got {value!r}")
    return int(value)

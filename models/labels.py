"""The ``labels`` contract: what analysts, chargebacks and files confirm, and its validation.

A label says that one transaction was fraud (1) or genuine (0), and when that
became known. Labels arrive late, days or weeks after the transaction, and
feed what txwatch learns from them: each merchant's fraud record
(:mod:`models.merchant_risk`). Like transactions, a label that breaks the
contract is refused with a stable reason, for the dead-letter topic.

>>> parse_label(b'{"transaction_id": "t1", "user_id": "u1", "label": 1, '
...             b'"known_at": "2026-01-08T00:00:00Z", "merchant_id": "m7", '
...             b'"timestamp": "2026-01-01T10:00:00Z", "source": "chargeback"}')
... # doctest: +NORMALIZE_WHITESPACE
Label(transaction_id='t1', user_id='u1', label=1, known_at=1767830400.0, merchant_id='m7',
      timestamp=1767261600.0, source='chargeback')
>>> parse_label(b'{"transaction_id": "t1", "user_id": "u1", "label": "yes", "known_at": 0}')
Traceback (most recent call last):
...
models.labels.InvalidLabel: invalid_label: label must be 0 or 1, got 'yes'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, cast

from models.transaction import (
    MAX_TEXT_LENGTH,
    InvalidTransaction,
    Transaction,
    decode_message,
    format_timestamp,
    parse_timestamp,
)

#: Where labels come from, when a label says.
MAX_SOURCE_LENGTH: Final = 64

LabelReason = Literal[
    "empty",
    "oversized",
    "invalid_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "invalid_label",
    "invalid_timestamp",
    "too_long",
]


class InvalidLabel(ValueError):
    """A ``labels`` message that breaks the contract; ``reason`` is a stable code."""

    def __init__(self, reason: LabelReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: LabelReason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Label:
    """One confirmed outcome. Times are epoch seconds (UTC)."""

    transaction_id: str
    user_id: str
    label: int  # 1 fraud, 0 genuine
    known_at: float  # when the outcome became known
    merchant_id: str | None = None
    timestamp: float | None = None  # the transaction's own event time
    source: str | None = None  # review, chargeback, file, ...

    def to_dict(self) -> dict[str, Any]:
        """The label as the JSON object of the contract."""
        out: dict[str, Any] = {
            "transaction_id": self.transaction_id,
            "user_id": self.user_id,
            "label": self.label,
            "known_at": format_timestamp(self.known_at),
        }
        if self.merchant_id is not None:
            out["merchant_id"] = self.merchant_id
        if self.timestamp is not None:
            out["timestamp"] = format_timestamp(self.timestamp)
        if self.source is not None:
            out["source"] = self.source
        return out


def parse_label(raw: bytes | str | None) -> Label:
    """Decode and validate one message of the ``labels`` topic."""
    try:
        data = decode_message(raw)
    except InvalidTransaction as exc:  # empty, oversized, invalid_json: the same codes
        raise InvalidLabel(cast(LabelReason, exc.reason), exc.detail) from None
    return validate_label(data)


def validate_label(data: Any) -> Label:
    """Validate an already decoded JSON value against the ``labels`` contract."""
    if not isinstance(data, dict):
        raise InvalidLabel("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    outcome = data.get("label")
    if "label" not in data:
        raise InvalidLabel("missing_field", "label is required")
    if outcome not in (0, 1) or isinstance(outcome, float):
        raise InvalidLabel("invalid_label", f"label must be 0 or 1, got {outcome!r}")
    if "known_at" not in data:
        raise InvalidLabel("missing_field", "known_at is required")
    return Label(
        transaction_id=_text(data, "transaction_id", required=True),  # type: ignore[arg-type]
        user_id=_text(data, "user_id", required=True),  # type: ignore[arg-type]
        label=int(outcome),
        known_at=_time(data["known_at"], "known_at"),
        merchant_id=_text(data, "merchant_id"),
        timestamp=None if data.get("timestamp") is None else _time(data["timestamp"], "timestamp"),
        source=_text(data, "source", longest=MAX_SOURCE_LENGTH),
    )


def _text(
    data: dict[str, Any], name: str, *, required: bool = False, longest: int = MAX_TEXT_LENGTH
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidLabel("missing_field", f"{name} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # ids may be integers, as in transactions
    if not isinstance(value, str):
        raise InvalidLabel("wrong_type", f"{name} must be text, got {type(value).__name__}")
    if len(value) > longest:
        raise InvalidLabel("too_long", f"{name} is longer than {longest} characters")
    if not value.strip():
        if required:
            raise InvalidLabel("missing_field", f"{name} is empty")
        return None
    return value


def _time(value: Any, name: str) -> float:
    try:
        return parse_timestamp(value)
    except InvalidTransaction as exc:
        raise InvalidLabel("invalid_timestamp", f"{name}: {exc.detail}") from None


def newest_labels(labels: Iterable[Label]) -> dict[str, Label]:
    """Each transaction's newest label (by ``known_at``; the later one given on a tie).

    >>> a = Label("t1", "u", 1, known_at=10.0)
    >>> b = Label("t1", "u", 0, known_at=20.0)
    >>> newest_labels([b, a])["t1"].label
    0
    """
    newest: dict[str, Label] = {}
    for label in labels:
        kept = newest.get(label.transaction_id)
        if kept is None or label.known_at >= kept.known_at:
            newest[label.transaction_id] = label
    return newest


def label_transactions(
    transactions: Iterable[Transaction], newest: Mapping[str, Label]
) -> tuple[list[Transaction], int]:
    """``transactions`` with the outcome ``newest`` gives them; and how many it gave one."""
    out: list[Transaction] = []
    matched = 0
    for tx in transactions:
        label = newest.get(tx.transaction_id)
        if label is not None:
            tx = replace(tx, label=label.label)
            matched += 1
        out.append(tx)
    return out, matched

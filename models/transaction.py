"""The ``transactions`` contract and its validation.

:func:`parse_transaction` turns the bytes of one Kafka message into a
:class:`Transaction` or raises :class:`InvalidTransaction` with a reason that
goes to the dead-letter topic. It imports nothing from Faust, so the same
code validates live traffic, replayed files and web requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Literal

import orjson

#: Largest message accepted, in bytes; anything larger is dead-lettered.
MAX_MESSAGE_BYTES: Final = 64 * 1024
#: Longest accepted identifier or category string.
MAX_TEXT_LENGTH: Final = 256
#: Largest accepted amount; larger values are taken for corrupt input.
MAX_AMOUNT: Final = 1e12
#: Amounts below this count as this much wherever a logarithm is taken (zero is valid).
MIN_LOG_AMOUNT: Final = 0.01
#: Accepted event times: 2000-01-01 to 2100-01-01 (epoch seconds).
MIN_EPOCH: Final = 946_684_800.0
MAX_EPOCH: Final = 4_102_444_800.0

OPTIONAL_TEXT_FIELDS: Final = (
    "currency",
    "location",
    "merchant_id",
    "merchant_category",
    "payment_method",
    "device_id",
)

Reason = Literal[
    "empty",
    "oversized",
    "invalid_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "invalid_amount",
    "invalid_timestamp",
    "too_long",
    "invalid_label",
]


class InvalidTransaction(ValueError):
    """A message that breaks the contract; ``reason`` is a stable code, ``detail`` says why."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Transaction:
    """One valid transaction; ``timestamp`` is event time in epoch seconds (UTC)."""

    transaction_id: str
    user_id: str
    amount: float
    timestamp: float
    currency: str | None = None
    location: str | None = None
    merchant_id: str | None = None
    merchant_category: str | None = None
    payment_method: str | None = None
    device_id: str | None = None
    label: int | None = None
    anomaly_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The transaction as the JSON object of the contract (timestamp as ISO-8601)."""
        out: dict[str, Any] = {
            "transaction_id": self.transaction_id,
            "user_id": self.user_id,
            "amount": self.amount,
            "timestamp": format_timestamp(self.timestamp),
        }
        for name in OPTIONAL_TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.label is not None:
            out["label"] = self.label
        if self.anomaly_kind is not None:
            out["anomaly_kind"] = self.anomaly_kind
        return out


def log_amount(amount: float) -> float:
    """The natural logarithm of an amount, zero and fractions of a cent counted as one cent.

    >>> log_amount(0.0) == log_amount(0.01)
    True
    """
    return math.log(amount if amount > MIN_LOG_AMOUNT else MIN_LOG_AMOUNT)


def format_timestamp(epoch: float) -> str:
    """ISO-8601 UTC text for epoch seconds, e.g. ``2026-01-02T03:04:05.250000Z``.

    The text of ``datetime.fromtimestamp(epoch, UTC).isoformat()``, ``Z`` for
    ``+00:00``: microseconds rounded half to even, left out when zero.
    """
    # Once per transaction: the date and time of day are cached per second,
    # so only the microseconds are formatted each time.
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1.0, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1.0, micros + 1_000_000
    second = _second_text(int(whole))
    return f"{second}.{micros:06d}Z" if micros else f"{second}Z"


@lru_cache(maxsize=4096)
def _second_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()[:19]


def parse_transaction(raw: bytes | str | None) -> Transaction:
    """Decode and validate one message of the ``transactions`` topic.

    >>> parse_transaction(b'{"transaction_id": "t1", "user_id": 7, '
    ...                   b'"amount": 12.5, "timestamp": "2026-01-01T00:00:00Z"}')
    ... # doctest: +NORMALIZE_WHITESPACE
    Transaction(transaction_id='t1', user_id='7', amount=12.5, timestamp=1767225600.0,
                currency=None, location=None, merchant_id=None, merchant_category=None,
                payment_method=None, device_id=None, label=None, anomaly_kind=None)
    >>> parse_transaction(b'{"transaction_id": "t1", "user_id": 7, "amount": -1, "timestamp": 0}')
    Traceback (most recent call last):
    ...
    models.transaction.InvalidTransaction: invalid_amount: amount must be >= 0, got -1
    """
    return validate_transaction(decode_message(raw))


def decode_message(raw: bytes | str | None) -> Any:
    """The JSON value of one message; InvalidTransaction if empty, oversized or not JSON.

    The envelope every txwatch topic's contract shares (``transactions``, ``labels``).
    """
    if not raw:  # a null value (tombstone) or zero bytes
        raise InvalidTransaction("empty", "the message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidTransaction("oversized", f"{len(raw)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidTransaction("invalid_json", str(exc)) from None


def validate_transaction(data: Any) -> Transaction:
    """Validate an already decoded JSON value against the contract."""
    if not isinstance(data, dict):
        raise InvalidTransaction("not_an_object", f"expected a JSON object, got {_kind(data)}")
    transaction_id = _identifier(data, "transaction_id")
    user_id = _identifier(data, "user_id")
    amount = _amount(data)
    timestamp = _timestamp(data)
    # The optional fields in one loop: this runs for every transaction.
    texts = []
    for name in OPTIONAL_TEXT_FIELDS:
        value = data.get(name)
        if value is not None and (type(value) is not str or len(value) > MAX_TEXT_LENGTH):
            _optional_text(data, name)  # raises the error for this value
        texts.append(value or None)
    currency, location, merchant_id, merchant_category, payment_method, device_id = texts
    label = _label(data)
    return Transaction(
        transaction_id,
        user_id,
        amount,
        timestamp,
        currency,
        location,
        merchant_id,
        merchant_category,
        payment_method,
        device_id,
        label,
        _optional_text(data, "anomaly_kind"),
    )


def parse_timestamp(value: Any) -> float:
    """Event time in epoch seconds from ISO-8601 text or epoch seconds (number or digits).

    Text without a zone is taken as UTC.
    """
    if isinstance(value, str):  # the usual case first
        epoch = _text_epoch(value.strip(), value)
    elif isinstance(value, bool):
        raise InvalidTransaction("invalid_timestamp", "timestamp must not be a boolean")
    elif isinstance(value, int | float):
        epoch = float(value)
    else:
        raise InvalidTransaction(
            "invalid_timestamp", f"expected text or number, got {_kind(value)}"
        )
    if not (MIN_EPOCH <= epoch < MAX_EPOCH):  # also rejects NaN
        raise InvalidTransaction("invalid_timestamp", f"out of range (2000-2100): {value!r}")
    return epoch


def _text_epoch(text: str, value: str) -> float:
    # The likelier reading first, since a failed one raises (slow): text
    # shaped like a date (YYYY-...) is hardly ever a number.
    first, second = (_iso_epoch, float) if text[4:5] == "-" else (float, _iso_epoch)
    try:
        return first(text)
    except ValueError:
        pass
    try:
        return second(text)
    except ValueError:
        raise InvalidTransaction(
            "invalid_timestamp", f"not ISO-8601 or epoch seconds: {value[:64]!r}"
        ) from None


def _iso_epoch(text: str) -> float:
    """Epoch seconds of ISO-8601 text (UTC if it names no zone); ValueError if not ISO."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _identifier(data: dict[str, Any], name: str) -> str:
    try:
        value = data[name]
    except KeyError:
        raise InvalidTransaction("missing_field", f"{name} is required") from None
    if isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise InvalidTransaction(
            "wrong_type", f"{name} must be text or an integer, got {_kind(value)}"
        )
    if not text or text.isspace():
        raise InvalidTransaction("missing_field", f"{name} is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidTransaction("too_long", f"{name} is longer than {MAX_TEXT_LENGTH} characters")
    return text


def _amount(data: dict[str, Any]) -> float:
    if "amount" not in data:
        raise InvalidTransaction("missing_field", "amount is required")
    value = data["amount"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTransaction("wrong_type", f"amount must be a number, got {_kind(value)}")
    amount = float(value)
    if not math.isfinite(amount):
        raise InvalidTransaction("invalid_amount", f"amount must be finite, got {value}")
    # Zero is valid: card verifications carry it, and card testers use them.
    if amount < 0:
        raise InvalidTransaction("invalid_amount", f"amount must be >= 0, got {value}")
    if amount > MAX_AMOUNT:
        raise InvalidTransaction("invalid_amount", f"amount {value} exceeds {MAX_AMOUNT:.0e}")
    return amount


def _timestamp(data: dict[str, Any]) -> float:
    if "timestamp" not in data:
        raise InvalidTransaction("missing_field", "timestamp is required")
    return parse_timestamp(data["timestamp"])


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTransaction("wrong_type", f"{name} must be text, got {_kind(value)}")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidTransaction("too_long", f"{name} is longer than {MAX_TEXT_LENGTH} characters")
    return value or None


def _label(data: dict[str, Any]) -> int | None:
    value = data.get("label")
    if value is None:
        return None
    if value in (0, 1) and not isinstance(value, float):  # bools compare equal to 0/1
        return int(value)
    raise InvalidTransaction("invalid_label", f"label must be 0 or 1, got {value!r}")

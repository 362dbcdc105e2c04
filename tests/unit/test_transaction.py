import math
import random
from datetime import UTC, datetime

import orjson
import pytest

from models.transaction import (
    MAX_MESSAGE_BYTES,
    MAX_TEXT_LENGTH,
    InvalidTransaction,
    Transaction,
    format_timestamp,
    parse_timestamp,
    parse_transaction,
)

VALID = {
    "transaction_id": "tx-1",
    "user_id": "u1",
    "amount": 25.0,
    "timestamp": "2026-03-01T12:30:00Z",
}


def encode(**changes):
    data = {**VALID, **changes}
    return orjson.dumps({k: v for k, v in data.items() if v is not ...})


def reason_of(raw):
    with pytest.raises(InvalidTransaction) as info:
        parse_transaction(raw)
    return info.value.reason


def test_parse_transaction_accepts_the_contract():
    tx = parse_transaction(
        encode(
            currency="EUR",
            location="DE",
            merchant_id="m-9",
            merchant_category="Grocery",
            payment_method="Credit Card",
            device_id="d-1",
            label=1,
        )
    )
    assert tx == Transaction(
        transaction_id="tx-1",
        user_id="u1",
        amount=25.0,
        timestamp=1772368200.0,
        currency="EUR",
        location="DE",
        merchant_id="m-9",
        merchant_category="Grocery",
        payment_method="Credit Card",
        device_id="d-1",
        label=1,
    )


def test_parse_transaction_accepts_integer_user_ids_and_epoch_seconds():
    tx = parse_transaction(encode(user_id=42, timestamp=1772368200))
    assert tx.user_id == "42"
    assert tx.timestamp == 1772368200.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T12:30:00Z", 1772368200.0),
        ("2026-03-01T12:30:00+00:00", 1772368200.0),
        ("2026-03-01T13:30:00+01:00", 1772368200.0),
        ("2026-03-01T12:30:00", 1772368200.0),  # no zone: UTC
        ("2026-03-01 12:30:00.5", 1772368200.5),
        ("1772368200", 1772368200.0),
        (1772368200.25, 1772368200.25),
    ],
)
def test_parse_timestamp_reads_iso_and_epoch(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "", None, True, [], 0, 1772368200000, math.nan, "2101-01-01T00:00:00Z"]
)
def test_parse_timestamp_rejects_what_is_not_a_plausible_time(value):
    with pytest.raises(InvalidTransaction) as info:
        parse_timestamp(value)
    assert info.value.reason == "invalid_timestamp"


def test_format_timestamp_round_trips():
    assert parse_timestamp(format_timestamp(1772368200.5)) == 1772368200.5


def test_format_timestamp_is_datetimes_isoformat():
    rng = random.Random(5)
    whole = [float(rng.randrange(946_684_800, 4_102_444_800)) for _ in range(200)]
    epochs = [
        *(rng.uniform(946_684_800, 4_102_444_800) for _ in range(20_000)),
        *whole,  # no microseconds: none are written
        *(t + 0.9999995 for t in whole),  # rounds up into the next second
        *(t + 0.0000005 for t in whole),
        *(t + k / 1e6 for t in whole[:5] for k in range(0, 1_000_000, 997)),
    ]
    for epoch in epochs:
        expected = datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
        assert format_timestamp(epoch) == expected, epoch


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "invalid_json"),
        (b"", "empty"),
        (None, "empty"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b"null", "not_an_object"),
        (encode(transaction_id=...), "missing_field"),
        (encode(user_id=...), "missing_field"),
        (encode(amount=...), "missing_field"),
        (encode(timestamp=...), "missing_field"),
        (encode(transaction_id=""), "missing_field"),
        (encode(user_id="   "), "missing_field"),
        (encode(transaction_id=7.5), "wrong_type"),
        (encode(user_id=True), "wrong_type"),
        (encode(user_id={"id": 1}), "wrong_type"),
        (encode(amount="12.0"), "wrong_type"),
        (encode(amount=True), "wrong_type"),
        (encode(amount=None), "wrong_type"),
        (encode(amount=-0.01), "invalid_amount"),
        (encode(amount=-3.5), "invalid_amount"),
        (encode(amount=1e13), "invalid_amount"),
        (encode(timestamp="soon"), "invalid_timestamp"),
        (encode(location=5), "wrong_type"),
        (encode(device_id=["a"]), "wrong_type"),
        (encode(user_id="u" * (MAX_TEXT_LENGTH + 1)), "too_long"),
        (encode(merchant_category="x" * (MAX_TEXT_LENGTH + 1)), "too_long"),
        (encode(label=2), "invalid_label"),
        (encode(label=0.5), "invalid_label"),
        (encode(label="1"), "invalid_label"),
        (b" " * (MAX_MESSAGE_BYTES + 1), "oversized"),
    ],
)
def test_parse_transaction_rejects_with_a_reason(raw, reason):
    assert reason_of(raw) == reason


@pytest.mark.parametrize("amount", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_parse_transaction_rejects_non_finite_amounts(amount):
    # Python's json module writes NaN and Infinity; JSON has neither.
    raw = b'{"transaction_id":"t","user_id":"u","amount":%s,"timestamp":1772368200}' % amount
    assert reason_of(raw) in {"invalid_json", "invalid_amount"}


def test_invalid_transaction_says_what_is_wrong():
    with pytest.raises(InvalidTransaction, match=r"amount must be >= 0, got -3\.5"):
        parse_transaction(encode(amount=-3.5))


def test_optional_fields_may_be_null_or_empty():
    tx = parse_transaction(encode(location=None, device_id=""))
    assert tx.location is None
    assert tx.device_id is None


def test_to_dict_round_trips_through_parse():
    tx = parse_transaction(encode(location="FR", label=0))
    assert parse_transaction(orjson.dumps(tx.to_dict())) == tx


def test_zero_amounts_are_valid_card_verifications():
    # Card testers probe with zero-amount verifications: they must be scored, not dead-lettered.
    assert parse_transaction(encode(amount=0)).amount == 0.0

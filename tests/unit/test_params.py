from datetime import UTC, datetime

import pytest

from web.params import anomaly_filter


def test_anomaly_filter_reads_every_parameter():
    where = anomaly_filter(
        {
            "user_id": "u1",
            "risk_level": "critical",
            "reason": "card_testing",
            "since": "2026-03-01T00:00:00Z",
            "until": "1772409600",
            "limit": "20",
        }
    )
    assert where.user_id == "u1"
    assert where.risk_level == "CRITICAL"
    assert where.reason == "CARD_TESTING"
    assert where.since == datetime(2026, 3, 1, tzinfo=UTC)
    assert where.until == datetime(2026, 3, 2, tzinfo=UTC)
    assert where.limit == 20


def test_anomaly_filter_defaults():
    where = anomaly_filter({})
    assert (where.user_id, where.risk_level, where.reason, where.limit) == (None, None, None, 100)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "1000000"}, "limit must be between 1 and 1000"),
        ({"limit": "0"}, "limit must be between"),
        ({"limit": "ten"}, "limit must be a whole number"),
        ({"risk_level": "SEVERE"}, "risk_level must be one of"),
        ({"reason": "'; DROP TABLE anomalies; --"}, "reason must be one of"),
        ({"since": "yesterday"}, "since must be ISO-8601"),
        ({"user_id": "u" * 300}, "user_id is longer"),
        ({"colour": "red"}, "unknown parameter"),
    ],
)
def test_anomaly_filter_explains_what_is_wrong(query, message):
    with pytest.raises(ValueError, match=message):
        anomaly_filter(query)


NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_transaction_from_query_converts_text_and_fills_defaults():
    from web.params import REQUEST_TRANSACTION_ID, transaction_from_query

    tx = transaction_from_query({"user_id": "u1", "amount": "12.5", "location": "DE"}, NOW)
    assert (tx.user_id, tx.amount, tx.location) == ("u1", 12.5, "DE")
    assert tx.timestamp == NOW
    assert tx.transaction_id == REQUEST_TRANSACTION_ID
    stamped = transaction_from_query(
        {"user_id": "u1", "amount": "3", "timestamp": "2026-01-02T00:00:00Z"}, NOW
    )
    assert stamped.timestamp == NOW + 86_400


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"amount": "3"}, "missing_field: user_id is required"),
        ({"user_id": "u1"}, "missing_field: amount is required"),
        ({"user_id": "u1", "amount": "three"}, "amount must be a number"),
        ({"user_id": "u1", "amount": "nan"}, "invalid_amount"),
        ({"user_id": "u1", "amount": "-1"}, "invalid_amount"),
        ({"user_id": "u1", "amount": "1", "timestamp": "soon"}, "invalid_timestamp"),
        ({"user_id": "u1", "amount": "1", "colour": "red"}, "unknown field(s): colour"),
        ({"user_id": "u" * 300, "amount": "1"}, "too_long"),
    ],
)
def test_transaction_from_query_refuses_with_a_message(query, message):
    from web.params import transaction_from_query

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        transaction_from_query(query, NOW)


def test_transaction_from_json_checks_the_body():
    from web.params import transaction_from_json

    tx = transaction_from_json(b'{"user_id": 7, "amount": 3, "device_id": "d1"}', NOW)
    assert (tx.user_id, tx.amount, tx.device_id, tx.timestamp) == ("7", 3.0, "d1", NOW)
    for body, message in [
        (b"", "not valid JSON"),
        (b"[1]", "must be a JSON object"),
        (b'{"user_id": "u1", "amount": "3"}', "wrong_type"),
        (b"{" + b" " * 70_000 + b"}", "exceeds"),
    ]:
        with pytest.raises(ValueError, match=message):
            transaction_from_json(body, NOW)


def test_transaction_query_round_trips_through_the_query_form():
    from web.params import transaction_from_json, transaction_from_query, transaction_query

    tx = transaction_from_json(
        b'{"transaction_id": "t9", "user_id": "u1", "amount": 0.1, "timestamp": 1767225600.123,'
        b' "location": "FR", "merchant_category": "Travel", "payment_method": "Card"}',
        NOW,
    )
    assert transaction_from_query(transaction_query(tx), NOW + 1) == tx

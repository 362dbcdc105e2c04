from datetime import UTC, datetime

import orjson
import pytest

from app.database.rows import COLUMNS, InvalidAlert, alert_row

ALERT = {
    "transaction_id": "tx-1",
    "user_id": "u1",
    "amount": 250.5,
    "timestamp": "2026-03-01T12:30:00Z",
    "location": "BR",
    "device_id": "d9",
    "risk_score": 81.5,
    "risk_level": "CRITICAL",
    "recommendation": "DECLINE",
    "reasons": ["NEW_LOCATION", "HIGH_AMOUNT"],
    "model_score": 0.71,
    "model_version": "v1",
    "detected_at": "2026-03-01T12:30:00.020000Z",
}


def test_alert_row_follows_the_columns():
    row = dict(zip(COLUMNS, alert_row(orjson.dumps(ALERT)), strict=True))
    assert row["transaction_id"] == "tx-1"
    assert row["amount"] == 250.5
    assert row["timestamp"] == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert row["detection_time"] == datetime(2026, 3, 1, 12, 30, 0, 20000, tzinfo=UTC)
    assert row["reasons"] == ["NEW_LOCATION", "HIGH_AMOUNT"]
    assert row["anomaly_score"] == 0.71
    assert row["is_anomaly"] is True
    assert row["merchant_category"] is None
    assert row["raw"].obj == ALERT


@pytest.mark.parametrize(
    "value",
    [b"not json", b"[]", orjson.dumps({**ALERT, "risk_score": "high"}), orjson.dumps({"a": 1})],
)
def test_alert_row_refuses_what_is_not_an_alert(value):
    with pytest.raises(InvalidAlert):
        alert_row(value)

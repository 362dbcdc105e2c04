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

import pytest

from app.activity import RecentActivity

T0 = 1_767_225_600.0


def test_rates_cover_the_last_minute_only():
    activity = RecentActivity(window=60)
    for second in range(120):
        for _ in range(second % 3 + 1):  # 1, 2, 3, 1, 2, 3, ... events a second
            activity.record(T0 + second + 0.5, 0.001, alert=second % 10 == 0)
    rates = activity.rates(T0 + 120, started_at=T0)
    assert rates["seconds"] == 60
    assert rates["events_per_second"] == pytest.approx(2.0)  # seconds 60..119
    assert rates["alerts_per_second"] == pytest.approx(12 / 60)  # 60, 70, ... 110: 1+2+3+1+2+3
    assert rates["alert_rate"] == pytest.approx(12 / 120)


def test_rates_since_start_when_younger_than_the_window():
    activity = RecentActivity(window=60)
    for second in range(10):
        activity.record(T0 + second, 0.001, alert=False)
    assert activity.rates(T0 + 10, started_at=T0)["events_per_second"] == pytest.approx(1.0)


def test_timeline_has_one_entry_per_second_with_gaps_as_zeros():
    activity = RecentActivity(window=5)
    activity.record(T0 + 1.2, 0.001, alert=True)
    activity.record(T0 + 1.7, 0.001, alert=False)
    activity.record(T0 + 3.1, 0.001, alert=False)
    timeline = activity.timeline(T0 + 5.5)
    assert [s["t"] for s in timeline] == [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    assert [s["events"] for s in timeline] == [0, 2, 0, 1, 0]
    assert [s["alerts"] for s in timeline] == [0, 1, 0, 0, 0]
    # Seven seconds later the old slots are stale, not recounted.
    assert all(s["events"] == 0 for s in activity.timeline(T0 + 12))


def test_latency_percentiles_are_nearest_rank_in_milliseconds():
    activity = RecentActivity()
    assert activity.latency_ms()["p50"] is None
    for ms in range(1, 101):
        activity.record(T0, ms / 1000, alert=False)
    assert activity.latency_ms() == {
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
        "max": 100.0,
        "samples": 100,
    }


def test_latency_keeps_only_the_most_recent_samples():
    activity = RecentActivity(samples=10)
    for _ in range(100):
        activity.record(T0, 1.0, alert=False)
    for _ in range(10):
        activity.record(T0, 0.002, alert=False)
    assert activity.latency_ms()["max"] == 2.0

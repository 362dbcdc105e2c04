"""The recovery watchdog's shell on Faust's own Recovery service (core: app/recovery_watch.py)."""

from __future__ import annotations

from collections import Counter

import pytest
from faust.types import TP

from app import app, watchdog

CHANGELOG = TP("users-changelog", 2)


@pytest.fixture
def stuck_recovery(monkeypatch):
    """Faust's recovery, in recovery with 40 records left on one partition that never move."""
    recovery = app.tables.recovery
    monkeypatch.setattr(recovery, "in_recovery", True)
    monkeypatch.setattr(recovery, "active_highwaters", Counter({CHANGELOG: 100}))
    monkeypatch.setattr(recovery, "active_offsets", Counter({CHANGELOG: 60}))
    monkeypatch.setattr(watchdog, "state", watchdog.WatchdogState(bound=60))
    rejoined = []
    monkeypatch.setattr(watchdog, "request_rejoin", rejoined.append)
    return rejoined


def test_a_recovery_that_reads_nothing_past_the_bound_is_reported_and_rejoined_once_per_bound(
    stuck_recovery,
):
    assert watchdog.check_recovery(0.0) is None
    assert watchdog.check_recovery(55.0) is None
    assert watchdog.recovery_report()[0] is None
    stall = watchdog.check_recovery(65.0)
    assert stall is not None
    assert stall.partitions == ("users-changelog:2",)
    assert len(stuck_recovery) == 1
    watchdog.check_recovery(100.0)  # within a bound of the rejoin: not again
    assert len(stuck_recovery) == 1
    watchdog.check_recovery(130.0)
    assert len(stuck_recovery) == 2
    problem, report = watchdog.recovery_report()
    assert problem is not None
    assert "users-changelog:2" in problem
    assert report["state"] == "stalled"
    assert report["stalled_partitions"] == ["users-changelog:2"]
    assert report["rejoins"] == 2


def test_progress_clears_the_stall(stuck_recovery, monkeypatch):
    watchdog.check_recovery(0.0)
    assert watchdog.check_recovery(65.0) is not None
    monkeypatch.setattr(app.tables.recovery, "active_offsets", Counter({CHANGELOG: 61}))
    assert watchdog.check_recovery(70.0) is None
    assert watchdog.recovery_report()[0] is None

"""Per-worker counters shown by the web views.

These are this worker's own figures since it started; cluster-wide figures
come from Kafka or PostgreSQL.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from app import metrics
from app.activity import RecentActivity
from models.risk import Assessment


@dataclass
class WorkerCounters:
    """What one worker has done since it started."""

    started_at: float = field(default_factory=time.time)
    processed: int = 0
    alerts: int = 0
    skipped_replays: int = 0
    resent: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    by_level: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    recent: RecentActivity = field(default_factory=RecentActivity)
    #: ``labels`` messages taken in, by outcome ("fraud", "genuine").
    labels: Counter[str] = field(default_factory=Counter)
    #: Labels that name no merchant, so reach no merchant's record.
    labels_without_merchant: int = 0
    #: Labels that changed their user's state; labels for users not scored here yet.
    labels_to_users: int = 0
    labels_unknown_user: int = 0
    #: Whether labels reach users' state ("on", or "off: " and why; agents.user_labels).
    users_feedback: str = "on"
    merchant_activity: int = 0  # merchant-activity messages applied to a record
    merchant_risk_published: int = 0  # merchant-risk messages sent (records and retractions)

    def record(self, assessment: Assessment) -> None:
        """Count one scored transaction."""
        self.processed += 1
        self.alerts += assessment.alert
        self.by_level[assessment.risk_level] += 1
        metrics.SCORED.inc()
        if assessment.alert:
            metrics.ALERTS.labels(assessment.risk_level).inc()
        for reason in assessment.reasons:
            self.by_reason[reason] += 1

    def finished(self, latency: float, alert: bool) -> None:
        """Note that one transaction's verdict went out ``latency`` seconds after it arrived."""
        metrics.PROCESSING.observe(latency)
        self.recent.record(time.time(), latency, alert)

    def dead_letter(self, reason: str) -> None:
        """Count one dead letter."""
        self.dead_letters[reason] += 1
        metrics.DEAD_LETTERS.labels(reason).inc()

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready snapshot: totals since start, the last minute's rates, latency."""
        now = time.time()
        return {
            "started_at": self.started_at,
            "uptime_seconds": round(now - self.started_at, 1),
            "processed": self.processed,
            "alerts": self.alerts,
            "alert_rate": self.alerts / self.processed if self.processed else 0.0,
            "skipped_replays": self.skipped_replays,
            "resent_after_crash": self.resent,
            "dead_letters": sum(self.dead_letters.values()),
            "dead_letters_by_reason": dict(self.dead_letters),
            "by_level": dict(self.by_level),
            "by_reason": dict(self.by_reason),
            "last_minute": self.recent.rates(now, self.started_at),
            "latency_ms": self.recent.latency_ms(),
            "feedback": {
                "labels": dict(self.labels),
                "labels_without_merchant": self.labels_without_merchant,
                "users": self.users_feedback,
                "labels_to_users": self.labels_to_users,
                "labels_unknown_user": self.labels_unknown_user,
                "merchant_activity": self.merchant_activity,
                "merchant_risk_published": self.merchant_risk_published,
            },
        }


counters = WorkerCounters()

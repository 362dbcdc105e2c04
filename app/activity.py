"""A worker's recent activity: events and alerts per second, and processing latency.

Feeds ``/stats`` and the dashboard's live charts. Pure and cheap per event
(a few integer operations and one append); the percentiles are computed
only when asked for.
"""

from __future__ import annotations

from collections import deque
from typing import Final

#: Seconds of per-second counts kept (the "last minute" of ``/stats``).
WINDOW_SECONDS: Final = 60
#: Latencies kept for the percentiles: the most recent events, not a time span.
LATENCY_SAMPLES: Final = 10_000


class RecentActivity:
    """Per-second event and alert counts over a sliding window, plus recent latencies."""

    def __init__(self, window: int = WINDOW_SECONDS, samples: int = LATENCY_SAMPLES) -> None:
        self.window = window
        self._second = [-1] * window
        self._events = [0] * window
        self._alerts = [0] * window
        self._latencies: deque[float] = deque(maxlen=samples)

    def record(self, now: float, latency: float, alert: bool) -> None:
        """Count one event finished at ``now`` (epoch seconds) after ``latency`` seconds."""
        second = int(now)
        slot = second % self.window
        if self._second[slot] != second:
            self._second[slot] = second
            self._events[slot] = 0
            self._alerts[slot] = 0
        self._events[slot] += 1
        self._alerts[slot] += alert
        self._latencies.append(latency)

    def timeline(self, now: float) -> list[dict[str, int]]:
        """The last ``window`` complete seconds before ``now``, oldest first, zeros included."""
        current = int(now)
        out = []
        for second in range(current - self.window, current):
            slot = second % self.window
            fresh = self._second[slot] == second
            out.append(
                {
                    "t": second,
                    "events": self._events[slot] if fresh else 0,
                    "alerts": self._alerts[slot] if fresh else 0,
                }
            )
        return out

    def rates(self, now: float, started_at: float) -> dict[str, float]:
        """Events and alerts per second over the last window (or since start, if sooner)."""
        seconds = self.timeline(now)
        span = min(self.window, max(1, int(now) - int(started_at)))
        recent = seconds[-span:]
        events = sum(s["events"] for s in recent)
        alerts = sum(s["alerts"] for s in recent)
        return {
            "events_per_second": events / span,
            "alerts_per_second": alerts / span,
            "alert_rate": alerts / events if events else 0.0,
            "seconds": span,
        }

    def latency_ms(self) -> dict[str, float | int | None]:
        """p50, p95 and p99 of the recent latencies in milliseconds (None before any event).

        Nearest-rank percentiles over the last ``samples`` events.

        >>> activity = RecentActivity()
        >>> for ms in range(1, 101):
        ...     activity.record(0.0, ms / 1000, False)
        >>> activity.latency_ms()
        {'p50': 50.0, 'p95': 95.0, 'p99': 99.0, 'max': 100.0, 'samples': 100}
        """
        ordered = sorted(self._latencies)
        if not ordered:
            return {"p50": None, "p95": None, "p99": None, "max": None, "samples": 0}

        def rank(q: float) -> float:
            index = max(0, -(-len(ordered) * q // 100) - 1)  # ceil(n*q/100) - 1
            return round(ordered[int(index)] * 1000, 3)

        return {
            "p50": rank(50),
            "p95": rank(95),
            "p99": rank(99),
            "max": round(ordered[-1] * 1000, 3),
            "samples": len(ordered),
        }

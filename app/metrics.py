"""Prometheus metrics: Faust's own sensor plus txwatch's counters, served at ``/metrics``.

Per worker, like every Prometheus target: sum them across workers in queries.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

#: Latency buckets (seconds) around the per-event budget of a few milliseconds.
LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)

SCORED = Counter("txwatch_transactions_scored", "Transactions scored")
ALERTS = Counter("txwatch_alerts", "Alerts raised, by risk level", ["level"])
DEAD_LETTERS = Counter("txwatch_dead_letters", "Messages dead-lettered, by reason", ["reason"])
PROCESSING = Histogram(
    "txwatch_processing_seconds",
    "From a transaction's arrival at the agent to its verdict being sent",
    buckets=LATENCY_BUCKETS,
)
SINK_PENDING = Gauge("txwatch_sink_pending", "Alerts waiting for PostgreSQL to come back")
DATABASE_UP = Gauge("txwatch_database_up", "1 while the sink reaches PostgreSQL, else 0")
LABELS = Counter("txwatch_labels", "Labels taken in, by outcome", ["outcome"])
SETTLED_ALERTS = Gauge(
    "txwatch_settled_alerts",
    "Alerts with a label, last 30 days, by level/rule/model",
    ["by", "name"],
)
ALERT_PRECISION = Gauge(
    "txwatch_alert_precision",
    "Share of settled alerts confirmed fraud, last 30 days, by level/rule/model",
    ["by", "name"],
)
MISSED_FRAUDS = Gauge("txwatch_missed_frauds", "Confirmed frauds, last 30 days, never alerted on")

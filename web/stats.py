"""``GET /stats``: what this worker is doing, and what the cluster has stored.

Everything under the top level and ``timeline`` is this worker's own, since
it started (per worker: add workers up for the cluster). ``cluster`` is
read from PostgreSQL, which all workers write to, and is the same whichever
worker is asked.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from faust.web import Request, Response, View

from agents import labels as labels_agent
from app import app
from app.counters import counters
from app.database.queries import alerts_by_level_since
from app.database.runtime import alert_writer
from app.detection import detector
from app.topics import assigned_transactions_partitions
from tables.merchant_risk import replica

#: How long the cluster figures are reused: dashboards poll, PostgreSQL need not answer each.
CLUSTER_CACHE_SECONDS: Final = 2.0

_cluster_cache: tuple[float, dict[str, Any]] = (0.0, {})


async def cluster_figures() -> dict[str, Any]:
    """Alerts stored by all workers in the last hour, by level (cached briefly)."""
    global _cluster_cache
    fetched_at, figures = _cluster_cache
    if time.monotonic() - fetched_at < CLUSTER_CACHE_SECONDS:
        return figures
    writer = alert_writer()
    try:
        await writer.pool.open(wait=False)
        since = datetime.now(UTC) - timedelta(hours=1)
        by_level = await alerts_by_level_since(writer.pool, since)
        figures = {
            "scope": "cluster",
            "source": "postgresql",
            "alerts_last_hour": sum(by_level.values()),
            "alerts_last_hour_by_level": by_level,
        }
    except Exception as exc:  # the database's state, reported rather than raised
        figures = {"scope": "cluster", "error": f"database unavailable: {type(exc).__name__}"}
    _cluster_cache = (time.monotonic(), figures)
    return figures


def kafka_figures() -> dict[str, Any]:
    """This worker's partitions of ``transactions`` and how many messages it has yet to read."""
    consumer = app.consumer
    try:
        assigned = assigned_transactions_partitions()
    except Exception:  # the consumer is not running yet
        return {"assigned_partitions": [], "lag": None}
    # Faust's record of the last offset read per partition (private, checked
    # at start-up: app/patches/upstream.py; it spares a broker round trip per
    # request); the high watermark is public.
    read = consumer._read_offset
    lag = 0
    for tp in assigned:
        highwater, last_read = consumer.highwater(tp), read.get(tp)
        if highwater is not None:
            lag += max(0, highwater - (last_read + 1 if last_read is not None else 0))
    return {"assigned_partitions": [tp.partition for tp in assigned], "lag": lag}


@app.page("/stats")
class StatsView(View):
    """This worker's counters, rates and latency, plus cluster-wide stored alerts."""

    async def get(self, request: Request) -> Response:
        return self.json(
            {
                "scope": "worker",
                "worker": app.conf.canonical_url.human_repr(),
                **counters.as_dict(),
                "model_version": detector().model_version,
                "kafka": kafka_figures(),
                "database": alert_writer().status.as_dict(),
                "timeline": counters.recent.timeline(time.time()),
                "cluster": await cluster_figures(),
                "merchant_risk": replica.as_dict(),
                # From PostgreSQL's labels: the same on every worker.
                "alert_precision": labels_agent.precision.as_dict(),
            }
        )

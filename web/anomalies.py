"""Anomalies from PostgreSQL: ``GET /anomalies`` and ``GET /anomalies/stats``.

Cluster-wide: every worker reads the same database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from faust.web import Request, Response, View

from app import app
from app.database.queries import anomaly_counts, recent_anomalies
from app.database.runtime import alert_writer
from web import params  # a module import: web.params may still be loading (it imports app)
from web.errors import error


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def _pool():
    pool = alert_writer().pool
    await pool.open(wait=False)  # a no-op once the sink agent has opened it
    return pool


async def _answer(view: View, request: Request, query: Any) -> Response:
    """Answer with ``query(pool, filter)``: 400 if the filter is malformed, 503 if no database."""
    try:
        where = params.anomaly_filter(request.query)
    except ValueError as exc:
        return error(view, 400, str(exc))
    try:
        result = await query(await _pool(), where)
    except Exception as exc:  # the database, not the request: say so
        return error(view, 503, f"database unavailable: {type(exc).__name__}")
    return view.json(result)


async def _recent(pool: Any, where: Any) -> dict[str, Any]:
    rows = await recent_anomalies(pool, where)
    return {"count": len(rows), "anomalies": [_json_ready(r) for r in rows]}


@app.page("/anomalies")
class AnomaliesView(View):
    """The newest stored anomalies, filtered by user, level, reason and time."""

    async def get(self, request: Request) -> Response:
        return await _answer(self, request, _recent)


@app.page("/anomalies/stats")
class AnomalyStatsView(View):
    """How many anomalies are stored, by reason, level and hour (same filters)."""

    async def get(self, request: Request) -> Response:
        return await _answer(self, request, anomaly_counts)

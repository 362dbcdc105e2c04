"""The reads behind the web views: recent anomalies, counts, a user's history.

Parameterized SQL only: filters arrive as values, never as SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

#: The most rows one query returns.
MAX_LIMIT: Final = 1000

_ROW = (
    'transaction_id, user_id, amount::float8 AS amount, "timestamp", location,'
    " merchant_category, payment_method, device_id, merchant_id, currency,"
    " anomaly_score, risk_score, risk_level, reasons, recommendation, model_version,"
    " detection_time"
)


@dataclass(frozen=True)
class AnomalyFilter:
    """Which anomalies to return; ``None`` means no condition."""

    user_id: str | None = None
    risk_level: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause (possibly empty) and its parameters."""
        conditions, params = [], []
        if self.user_id is not None:
            conditions.append("user_id = %s")
            params.append(self.user_id)
        if self.risk_level is not None:
            conditions.append("risk_level = %s")
            params.append(self.risk_level)
        if self.reason is not None:
            conditions.append("reasons @> ARRAY[%s]::text[]")
            params.append(self.reason)
        if self.since is not None:
            conditions.append("detection_time >= %s")
            params.append(self.since)
        if self.until is not None:
            conditions.append("detection_time < %s")
            params.append(self.until)
        return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


async def recent_anomalies(pool: AsyncConnectionPool, where: AnomalyFilter) -> list[dict[str, Any]]:
    """The newest anomalies matching ``where``, newest first."""
    clause, params = where.where()
    sql = f"SELECT {_ROW} FROM anomalies{clause} ORDER BY detection_time DESC, id DESC LIMIT %s"
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, [*params, where.limit])
        return await cur.fetchall()


async def user_history(
    pool: AsyncConnectionPool, user_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    """One user's anomalies by event time, newest first."""
    AnomalyFilter(limit=limit)  # validates the limit
    sql = f'SELECT {_ROW} FROM anomalies WHERE user_id = %s ORDER BY "timestamp" DESC LIMIT %s'
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, (user_id, limit))
        return await cur.fetchall()


async def anomaly_counts(pool: AsyncConnectionPool, where: AnomalyFilter) -> dict[str, Any]:
    """How many anomalies match ``where``, by reason, by risk level and by hour of detection."""
    clause, params = where.where()
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(f"SELECT count(*) FROM anomalies{clause}", params)
        (total,) = await cur.fetchone() or (0,)
        await cur.execute(
            "SELECT reason, count(*) FROM anomalies CROSS JOIN LATERAL unnest(reasons) AS reason"
            f"{clause} GROUP BY reason ORDER BY count(*) DESC, reason",
            params,
        )
        by_reason = dict(await cur.fetchall())
        await cur.execute(
            f"SELECT risk_level, count(*) FROM anomalies{clause} GROUP BY risk_level", params
        )
        by_level = dict(await cur.fetchall())
        await cur.execute(
            f"SELECT date_trunc('hour', detection_time) AS hour, count(*) FROM anomalies{clause}"
            " GROUP BY hour ORDER BY hour",
            params,
        )
        by_hour = [{"hour": hour.isoformat(), "count": n} for hour, n in await cur.fetchall()]
    return {"total": total, "by_reason": by_reason, "by_level": by_level, "by_hour": by_hour}


async def alerts_by_level_since(pool: AsyncConnectionPool, since: datetime) -> dict[str, int]:
    """How many alerts every worker stored since ``since``, by risk level (one indexed query)."""
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "SELECT risk_level, count(*) FROM anomalies WHERE detection_time >= %s"
            " GROUP BY risk_level",
            (since,),
        )
        return dict(await cur.fetchall())

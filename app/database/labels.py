"""Labels in PostgreSQL, and what they say of the alerts: precision by rule, level and model.

Every label is kept as it came (``labels``, an audit trail); the newest per
transaction is the verdict. Precision is measured on the alerts that have
one: of those an analyst or a chargeback settled, the share confirmed
fraud. Confirmed frauds txwatch did not alert on are counted beside it, the
misses precision cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import psycopg

from models.labels import Label

INSERT: Final = """
INSERT INTO labels (transaction_id, user_id, label, known_at, merchant_id, "timestamp", source)
VALUES (%s, %s, %s, to_timestamp(%s), %s, to_timestamp(%s), %s)
ON CONFLICT (transaction_id, known_at, label) DO NOTHING
"""

#: The alerts settled over this many days count in the figures.
WINDOW_DAYS: Final = 30

PRECISION: Final = f"""
WITH newest AS (
    SELECT DISTINCT ON (transaction_id) transaction_id, label
    FROM labels
    WHERE known_at > now() - interval '{WINDOW_DAYS} days'
    ORDER BY transaction_id, known_at DESC, id DESC
), settled AS (
    SELECT a.risk_level, a.reasons, coalesce(a.model_version, 'rules') AS model, n.label
    FROM newest n JOIN anomalies a USING (transaction_id)
)
SELECT 'level', risk_level, count(*), sum(label) FROM settled GROUP BY risk_level
UNION ALL
SELECT 'rule', reason, count(*), sum(label) FROM settled, unnest(reasons) AS reason GROUP BY reason
UNION ALL
SELECT 'model', model, count(*), sum(label) FROM settled GROUP BY model
UNION ALL
SELECT 'missed', 'fraud', count(*), count(*) FROM newest n
WHERE n.label = 1
  AND NOT EXISTS (SELECT 1 FROM anomalies a WHERE a.transaction_id = n.transaction_id)
"""


def label_row(label: Label) -> tuple[Any, ...]:
    """The ``labels`` row of ``label``, in :data:`INSERT`'s order."""
    return (
        label.transaction_id,
        label.user_id,
        label.label,
        label.known_at,
        label.merchant_id,
        label.timestamp,
        label.source,
    )


async def insert_labels(conn: psycopg.AsyncConnection, rows: list[tuple[Any, ...]]) -> int:
    """Insert ``rows`` in one transaction; how many were new."""
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(INSERT, rows)
        return cur.rowcount


@dataclass(frozen=True, slots=True)
class Settled:
    """Alerts settled by a label, and how many of them were fraud."""

    settled: int
    frauds: int

    @property
    def precision(self) -> float | None:
        """The share of settled alerts that were fraud, None before any is settled."""
        return self.frauds / self.settled if self.settled else None


@dataclass(slots=True)
class Precision:
    """Precision of the alerts by level, rule and model, and the frauds missed."""

    by_level: dict[str, Settled] = field(default_factory=dict)
    by_rule: dict[str, Settled] = field(default_factory=dict)
    by_model: dict[str, Settled] = field(default_factory=dict)
    missed_frauds: int = 0
    measured_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for ``/stats``."""

        def table(rows: dict[str, Settled]) -> dict[str, Any]:
            return {
                name: {"settled": s.settled, "frauds": s.frauds, "precision": s.precision}
                for name, s in sorted(rows.items())
            }

        return {
            "window_days": WINDOW_DAYS,
            "by_level": table(self.by_level),
            "by_rule": table(self.by_rule),
            "by_model": table(self.by_model),
            "missed_frauds": self.missed_frauds,
            "measured_at": self.measured_at,
        }


async def measure_precision(conn: psycopg.AsyncConnection, at: float) -> Precision:
    """The alerts' precision as the labels of the last :data:`WINDOW_DAYS` days say."""
    cursor = await conn.execute(PRECISION)
    out = Precision(measured_at=at)
    tables = {"level": out.by_level, "rule": out.by_rule, "model": out.by_model}
    for by, name, settled, frauds in await cursor.fetchall():
        if by == "missed":
            out.missed_frauds = int(settled)
        else:
            tables[by][name] = Settled(int(settled), int(frauds or 0))
    return out

"""The schema, the alert writer and the queries against the stack's PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from app.database.queries import AnomalyFilter, anomaly_counts, recent_anomalies, user_history
from app.database.rows import alert_row
from app.database.schema import MIGRATIONS, migrate
from app.database.writer import AlertWriter, connect_pool
from tests.integration.conftest import create_database, drop_database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(stack):
    name = f"test_{stack.run_id}_{uuid.uuid4().hex[:6]}"
    url = create_database(stack, name)
    yield url
    drop_database(stack, name)


def alert(i: int, user: str = "u1", level: str = "HIGH", reasons=("NEW_LOCATION",)) -> bytes:
    moment = (T0 + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
    return orjson.dumps(
        {
            "transaction_id": f"tx-{i}",
            "user_id": user,
            "amount": 10.0 + i,
            "timestamp": moment,
            "risk_score": 65.0,
            "risk_level": level,
            "recommendation": "REVIEW",
            "reasons": list(reasons),
            "model_score": 0.6,
            "model_version": "v1",
            "detected_at": moment,
        }
    )


async def with_writer(url: str, body):
    pool = connect_pool(url, size=2, statement_timeout_ms=5000)
    await pool.open(wait=True)
    try:
        return await body(AlertWriter(pool), pool)
    finally:
        await pool.close()


def test_migrations_apply_once(database):
    async def body():
        async with await psycopg.AsyncConnection.connect(database) as conn:
            first = await migrate(conn)
            second = await migrate(conn)
            cur = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
            recorded = [row[0] for row in await cur.fetchall()]
        return first, second, recorded

    first, second, recorded = asyncio.run(body())
    assert first == [m[0] for m in MIGRATIONS]
    assert second == []
    assert recorded == first


def test_writer_is_idempotent_and_queries_filter(database):
    async def body(writer: AlertWriter, pool):
        await writer.ensure_schema()
        rows = [alert_row(alert(i, user=f"u{i % 3}")) for i in range(30)]
        rows.append(
            alert_row(alert(99, "u9", level="CRITICAL", reasons=("CARD_TESTING", "NEW_DEVICE")))
        )
        new = await writer.write(rows)
        again = await writer.write(rows[:10])
        recent = await recent_anomalies(pool, AnomalyFilter(limit=5))
        by_user = await recent_anomalies(pool, AnomalyFilter(user_id="u1", limit=100))
        by_reason = await recent_anomalies(pool, AnomalyFilter(reason="CARD_TESTING"))
        sneaky = await recent_anomalies(pool, AnomalyFilter(user_id="u1' OR '1'='1"))
        window = await recent_anomalies(
            pool, AnomalyFilter(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=20))
        )
        history = await user_history(pool, "u2", limit=3)
        counts = await anomaly_counts(pool, AnomalyFilter())
        return new, again, recent, by_user, by_reason, sneaky, window, history, counts

    new, again, recent, by_user, by_reason, sneaky, window, history, counts = asyncio.run(
        with_writer(database, body)
    )
    assert (new, again) == (31, 0)
    assert [r["transaction_id"] for r in recent] == ["tx-99", "tx-29", "tx-28", "tx-27", "tx-26"]
    assert {r["user_id"] for r in by_user} == {"u1"}
    assert len(by_user) == 10
    assert [r["transaction_id"] for r in by_reason] == ["tx-99"]
    assert sneaky == []
    assert len(window) == 10
    assert [r["transaction_id"] for r in history] == ["tx-29", "tx-26", "tx-23"]
    assert counts["total"] == 31
    assert counts["by_level"] == {"HIGH": 30, "CRITICAL": 1}
    assert counts["by_reason"] == {"NEW_LOCATION": 30, "CARD_TESTING": 1, "NEW_DEVICE": 1}
    assert sum(h["count"] for h in counts["by_hour"]) == 31


def test_filter_refuses_unreasonable_limits():
    with pytest.raises(ValueError, match="limit"):
        AnomalyFilter(limit=10_000)
    with pytest.raises(ValueError, match="limit"):
        AnomalyFilter(limit=0)


def test_writer_waits_for_a_database_that_is_down(stack):
    # Nothing listens on this port: the writer must keep retrying, not fail.
    async def body():
        pool = connect_pool("postgresql://txwatch@127.0.0.1:1/none", 1, 1000)
        await pool.open(wait=False)
        writer = AlertWriter(pool, max_backoff=0.2, first_backoff=0.05)
        task = asyncio.create_task(writer.write([alert_row(alert(1))]))
        await asyncio.sleep(3.5)  # longer than the pool waits for a connection
        status = writer.status.as_dict()
        done = task.done()
        task.cancel()
        await pool.close()
        return status, done

    status, done = asyncio.run(body())
    assert not done
    assert status["state"] == "down"
    assert status["pending"] == 1
    assert status["summary"] == "database down, 1 pending"


def test_precision_counts_the_newest_label_of_each_alert_and_the_frauds_missed(database):
    from app.database.labels import Settled, insert_labels, label_row, measure_precision
    from models.labels import Label

    now = datetime.now(UTC).timestamp()
    alerts = [
        alert(0, level="HIGH", reasons=("NEW_LOCATION",)),
        alert(1, level="HIGH", reasons=("NEW_LOCATION", "VELOCITY_BURST")),
        alert(2, level="CRITICAL", reasons=("VELOCITY_BURST",)),
        alert(3, level="CRITICAL", reasons=()),  # never labelled
    ]

    def label(tx: str, outcome: int, hours_ago: float) -> tuple:
        return label_row(Label(tx, "u1", outcome, now - hours_ago * 3600, source="review"))

    labels = [
        label("tx-0", 1, 5),
        label("tx-0", 1, 5),  # delivered twice: one row
        label("tx-1", 1, 6),
        label("tx-1", 0, 2),  # cleared later: the newest counts
        label("tx-2", 1, 1),
        label("tx-9", 1, 1),  # a fraud never alerted on
        label("tx-8", 0, 1),  # a genuine one never alerted on: neither
        label("tx-7", 1, 24 * 40),  # older than the window
    ]

    async def body(writer, pool):
        await writer.ensure_schema()
        await writer.write([alert_row(a) for a in alerts])
        async with pool.connection() as conn:
            inserted = await insert_labels(conn, labels)
            again = await insert_labels(conn, labels)
            return inserted, again, await measure_precision(conn, now)

    inserted, again, precision = asyncio.run(with_writer(database, body))
    assert (inserted, again) == (7, 0)
    assert precision.by_level == {"HIGH": Settled(2, 1), "CRITICAL": Settled(1, 1)}
    assert precision.by_rule == {"NEW_LOCATION": Settled(2, 1), "VELOCITY_BURST": Settled(2, 1)}
    assert precision.by_model == {"v1": Settled(3, 2)}
    assert precision.missed_frauds == 1
    assert precision.by_level["HIGH"].precision == 0.5

"""The schema txwatch owns, as numbered migrations applied in order, once.

``faust -A app initdb`` applies them, and so does every worker at start. A
transaction-level advisory lock keeps two workers from racing; applied
versions are recorded in ``schema_migrations``.
"""

from __future__ import annotations

import logging
from typing import Final

import psycopg

logger = logging.getLogger(__name__)

#: Any constant number will do: it names txwatch's migration lock.
MIGRATION_LOCK: Final = 0x7478_7761_7463_68

MIGRATIONS: Final[tuple[tuple[int, str, str], ...]] = (
    (
        1,
        "anomalies and models",
        """
        CREATE TABLE anomalies (
            id                bigserial PRIMARY KEY,
            transaction_id    text NOT NULL UNIQUE,
            user_id           text NOT NULL,
            amount            numeric(20, 2) NOT NULL,
            "timestamp"       timestamptz NOT NULL,
            location          text,
            merchant_category text,
            payment_method    text,
            anomaly_score     double precision,
            is_anomaly        boolean NOT NULL DEFAULT true,
            detection_time    timestamptz NOT NULL,
            risk_score        real NOT NULL,
            risk_level        text NOT NULL,
            reasons           text[] NOT NULL DEFAULT '{}',
            recommendation    text NOT NULL,
            model_version     text,
            device_id         text,
            merchant_id       text,
            currency          text,
            raw               jsonb NOT NULL,
            stored_at         timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX anomalies_detection_time ON anomalies (detection_time DESC);
        CREATE INDEX anomalies_user_time ON anomalies (user_id, "timestamp" DESC);
        CREATE INDEX anomalies_level_time ON anomalies (risk_level, detection_time DESC);
        CREATE INDEX anomalies_reasons ON anomalies USING gin (reasons);

        CREATE TABLE models (
            version     text PRIMARY KEY,
            trained_at  timestamptz NOT NULL,
            metadata    jsonb NOT NULL,
            metrics     jsonb,
            first_seen  timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        2,
        "labels",
        # An audit trail: every label as it came, never updated; the newest
        # per transaction is what counts. The unique key makes a label
        # delivered twice (at-least-once) one row.
        """
        CREATE TABLE labels (
            id             bigserial PRIMARY KEY,
            transaction_id text NOT NULL,
            user_id        text NOT NULL,
            label          smallint NOT NULL CHECK (label IN (0, 1)),
            known_at       timestamptz NOT NULL,
            merchant_id    text,
            "timestamp"    timestamptz,
            source         text,
            received_at    timestamptz NOT NULL DEFAULT now(),
            UNIQUE (transaction_id, known_at, label)
        );
        CREATE INDEX labels_newest ON labels (transaction_id, known_at DESC, id DESC);
        CREATE INDEX labels_known_at ON labels (known_at DESC);
        """,
    ),
)


async def migrate(conn: psycopg.AsyncConnection) -> list[int]:
    """Apply every migration ``conn``'s database lacks; returns the versions applied."""
    applied_now: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        cursor = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cursor.fetchall()}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            logger.info("applied migration %d: %s", version, name)
            applied_now.append(version)
    return applied_now

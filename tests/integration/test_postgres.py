"""The stack's PostgreSQL server, reached through psycopg 3."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.integration


def test_postgres_round_trip(stack):
    table = f"roundtrip_{stack.run_id}"
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, amount numeric, raw jsonb)")
        try:
            conn.execute(
                f"INSERT INTO {table} VALUES (%s, %s, %s)",
                ("tx-1", "12.50", psycopg.types.json.Jsonb({"user_id": "u1"})),
            )
            row = conn.execute(f"SELECT id, amount, raw FROM {table}").fetchone()
            version = conn.execute("SHOW server_version").fetchone()[0]
        finally:
            conn.execute(f"DROP TABLE {table}")
    assert row is not None
    assert row[0] == "tx-1"
    assert str(row[1]) == "12.50"
    assert row[2] == {"user_id": "u1"}
    assert int(version.split(".")[0]) >= 13

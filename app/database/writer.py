"""Writing alerts to PostgreSQL: in batches, idempotently, never giving up.

:meth:`AlertWriter.write` returns only once every row of the batch is
committed (or was already there: ``ON CONFLICT (transaction_id) DO
NOTHING``). While the database is unreachable it waits and retries with
capped exponential backoff, logging once per change of state, and reports
"database down, N pending" through :meth:`AlertWriter.status`. The sink
agent acknowledges a batch only after ``write`` returns, so an outage or a
crash delays alerts but loses none.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app import metrics
from app.database.rows import COLUMNS
from app.database.schema import migrate

logger = logging.getLogger(__name__)

_QUOTED = ", ".join(f'"{column}"' for column in COLUMNS)
_VALUES = ", ".join(["%s"] * len(COLUMNS))
INSERT = (
    f"INSERT INTO anomalies ({_QUOTED}) VALUES ({_VALUES}) ON CONFLICT (transaction_id) DO NOTHING"
)

#: Errors that say the server, not the data, is the problem: wait and retry.
RETRIABLE = (psycopg.OperationalError, psycopg.errors.AdminShutdown, PoolTimeout, OSError)

State = Literal["starting", "up", "down"]


@dataclass
class WriterStatus:
    """What the writer has done and whether the database answers."""

    state: State = "starting"
    pending: int = 0
    written: int = 0
    duplicates: int = 0
    since: float = field(default_factory=time.time)
    last_error: str | None = None
    batch_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with a one-line summary such as ``database down, 120 pending``."""
        summary = f"database {self.state}" + (f", {self.pending} pending" if self.pending else "")
        return {**self.__dict__, "summary": summary}


def connect_pool(database_url: str, size: int, statement_timeout_ms: int) -> AsyncConnectionPool:
    """A pool (not opened yet) whose sessions give up on a statement after the timeout."""
    return AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=size,
        open=False,
        timeout=2.0,
        reconnect_timeout=24 * 3600.0,  # keep reconnecting through an outage
        kwargs={"options": f"-c statement_timeout={statement_timeout_ms}", "autocommit": True},
    )


class AlertWriter:
    """Writes rows of :data:`~app.database.rows.COLUMNS` to ``anomalies``."""

    def __init__(
        self, pool: AsyncConnectionPool, *, max_backoff: float = 10.0, first_backoff: float = 0.2
    ) -> None:
        self.pool = pool
        self.status = WriterStatus()
        self.max_backoff = max_backoff
        self.first_backoff = first_backoff
        self._retrying_now = 0

    async def ensure_schema(self) -> list[int]:
        """Apply pending migrations, waiting for the database if it is down."""
        return await self._retrying(0, self._migrate)

    async def register_model(
        self, version: str, trained_at: float, metadata: dict[str, Any]
    ) -> None:
        """Record the model this worker scores with in ``models`` (once per version)."""
        await self._retrying(0, self._register_model, version, trained_at, metadata)

    async def _register_model(
        self, version: str, trained_at: float, metadata: dict[str, Any]
    ) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO models (version, trained_at, metadata, metrics)"
                " VALUES (%s, to_timestamp(%s), %s, %s) ON CONFLICT (version) DO NOTHING",
                (version, trained_at, Jsonb(metadata), Jsonb(metadata.get("training"))),
            )

    async def write(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Commit ``rows``; returns how many were new. Retries until it succeeds.

        Raises only for errors in the data (:class:`psycopg.DataError` and its
        kin), which retrying cannot mend: the caller deals with those rows.
        """
        if not rows:
            return 0
        started = time.monotonic()
        inserted = await self._retrying(len(rows), self._insert, rows)
        self.status.written += inserted
        self.status.duplicates += len(rows) - inserted
        self.status.batch_seconds = time.monotonic() - started
        return inserted

    async def probe(self) -> None:
        """Ask PostgreSQL once whether it answers and update :attr:`status` (never raises).

        Without it an idle worker would learn of an outage only when its next
        alert needs writing. Skipped while a write is retrying: that write
        knows better, and its pending count must stand.
        """
        if self._retrying_now:
            return
        try:
            async with self.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except RETRIABLE as exc:
            if not self._retrying_now:
                self._set_state("down", 0, exc)
        else:
            if not self._retrying_now:
                self._set_state("up", 0, None)

    async def _migrate(self) -> list[int]:
        async with self.pool.connection() as conn:
            return await migrate(conn)

    async def _insert(self, rows: Sequence[tuple[Any, ...]]) -> int:
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(INSERT, rows)
            # executemany's rowcount adds up the rows each INSERT created.
            return cur.rowcount

    async def retrying(self, pending: int, action: Any, *args: Any) -> Any:
        """``await action(*args)``, retried with capped backoff while PostgreSQL is away.

        ``pending``: how many rows wait on it, for ``/stats`` meanwhile.
        """
        return await self._retrying(pending, action, *args)

    async def _retrying(self, pending: int, action: Any, *args: Any) -> Any:
        backoff = self.first_backoff
        self._retrying_now += 1
        try:
            while True:
                try:
                    result = await action(*args)
                except RETRIABLE as exc:
                    self._set_state("down", pending, exc)
                    await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                self._set_state("up", 0, None)
                return result
        finally:
            self._retrying_now -= 1

    def _set_state(self, state: State, pending: int, error: BaseException | None) -> None:
        status = self.status
        status.pending = pending
        metrics.SINK_PENDING.set(pending)
        metrics.DATABASE_UP.set(state == "up")
        if error is not None:
            status.last_error = f"{type(error).__name__}: {error}".strip()
        if state == status.state:
            return
        if state == "down":
            logger.error("database down, %d pending: %s", pending, status.last_error)
        elif status.state == "down":
            logger.warning("database back after %.1fs; writing resumes", time.time() - status.since)
        status.state = state
        status.since = time.time()

"""The worker's database objects: one pool and one alert writer per process."""

from __future__ import annotations

from functools import cache

from app import settings
from app.database.writer import AlertWriter, connect_pool


@cache
def alert_writer() -> AlertWriter:
    """The process's writer; its pool opens on first use inside the event loop."""
    pool = connect_pool(
        settings.database_url, settings.db_pool_size, settings.db_statement_timeout_ms
    )
    return AlertWriter(pool)

"""The ``sink_alerts`` agent: alerts into PostgreSQL, acknowledged only once committed.

Faust acknowledges a ``take_events`` batch when the loop asks for the next
one, even if the body failed (DESIGN.md): so the body never fails. The
writer retries until PostgreSQL has the rows; a row PostgreSQL refuses for
its data is written alone, and if refused again goes to the dead-letter
topic with the database's reason.
"""

from __future__ import annotations

import logging

from agents.dead_letters import send_dead_letter
from app import app, settings
from app.database.rows import InvalidAlert, alert_row
from app.database.runtime import alert_writer
from app.detection import detector
from app.topics import alerts_topic

logger = logging.getLogger(__name__)


@app.agent(alerts_topic)
async def sink_alerts(stream):
    """Consume ``alerts`` and store each in ``anomalies`` exactly once in effect."""
    writer = alert_writer()
    await writer.pool.open(wait=False)
    applied = await writer.ensure_schema()
    if applied:
        logger.info("database schema migrated to version %d", applied[-1])
    model = detector().model
    if model is not None:
        await writer.register_model(model.version, model.trained_at, model.describe())
    async for events in stream.take_events(
        settings.sink_batch_size, within=settings.sink_batch_ms / 1000
    ):
        rows, sources = [], []
        for event in events:
            try:
                rows.append(alert_row(event.message.value))
                sources.append(event.message)
            except InvalidAlert as exc:
                await send_dead_letter(event.message, "invalid_alert", str(exc))
        try:
            await writer.write(rows)
        except Exception:  # the data, not the server: find the rows at fault
            logger.exception("a batch of %d alerts was refused; writing them one by one", len(rows))
            for row, message in zip(rows, sources, strict=True):
                try:
                    await writer.write([row])
                except Exception as exc:
                    await send_dead_letter(message, "database_refused", repr(exc))


@app.timer(interval=settings.db_probe_seconds)
async def probe_database() -> None:
    """Keep ``/health`` and ``/stats`` truthful about PostgreSQL while no alerts arrive."""
    writer = alert_writer()
    await writer.pool.open(wait=False)
    await writer.probe()

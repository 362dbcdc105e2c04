"""The ``ingest_labels`` agent: confirmed outcomes into PostgreSQL and the merchants' records.

A label (:mod:`models.labels`) comes from a reviewer, a chargeback or a
file sent with ``replay``, keyed by its ``user_id``. Each valid one is kept
in ``labels`` (an audit trail), recorded in its user's state
(:mod:`agents.user_labels`) and, when it names a merchant, sent to
``merchant-activity``, where it enters the merchant's fraud record; one
that breaks the contract, or is keyed by anything but its user, goes to
``labels-dlq`` with its reason. Like the alerts sink, the body never fails
(Faust acknowledges a ``take_events`` batch anyway): PostgreSQL is retried
until it has the rows.

The timer measures, from the labels, the alerts' precision by level, rule
and model, for ``/stats`` and ``/metrics``.
"""

from __future__ import annotations

import logging
import time

from agents.dead_letters import send_dead_letter
from agents.user_labels import Routed, UserLabels
from app import app, metrics, settings
from app.batching import BatchedSends
from app.counters import counters
from app.database.labels import Precision, insert_labels, label_row, measure_precision
from app.database.runtime import alert_writer
from app.topics import (
    OutputPartitions,
    declare_topics,
    label_dead_letters_topic,
    labels_topic,
    transactions_topic,
)
from models.labels import InvalidLabel, Label, parse_label
from models.merchant_activity import label_message

logger = logging.getLogger(__name__)

#: The newest figures measured by :func:`measure_alert_precision` on this worker.
precision = Precision()


@app.agent(labels_topic)
async def ingest_labels(stream):
    """Consume ``labels``: store each, send it to its merchant, dead-letter the invalid."""
    await declare_topics()
    writer = alert_writer()
    await writer.pool.open(wait=False)
    await writer.ensure_schema()
    producer = app.producer._ensure_producer()
    sends = BatchedSends(producer)
    partitions = await OutputPartitions.discover()
    activity = settings.topic("merchant-activity")
    to_users = UserLabels(
        BatchedSends(producer),
        len(await producer.partitions_for(labels_topic.get_topic_name())),
        len(await producer.partitions_for(transactions_topic.get_topic_name())),
    )
    dead = label_dead_letters_topic
    async for events in stream.take_events(
        settings.sink_batch_size, within=settings.sink_batch_ms / 1000
    ):
        routed: list[Routed] = []
        for event in events:
            message = event.message
            try:
                label = parse_label(message.value)
            except InvalidLabel as exc:
                await send_dead_letter(message, exc.reason, exc.detail, topic=dead)
                continue
            if message.key != label.user_id.encode():
                # Only a label keyed by its user arrives where the user's state is.
                detail = f"message key {message.key!r} is not the user_id {label.user_id!r}"
                await send_dead_letter(message, "wrong_key", detail, topic=dead)
                continue
            routed.append(Routed(message.partition, message.key, label))
        if not routed:
            continue
        labels: list[Label] = [r.label for r in routed]

        async def store(rows: list) -> int:
            async with writer.pool.connection() as conn:
                return await insert_labels(conn, rows)

        await writer.retrying(len(labels), store, [label_row(label) for label in labels])
        for label in labels:
            outcome = "fraud" if label.label else "genuine"
            counters.labels[outcome] += 1
            metrics.LABELS.labels(outcome).inc()
            if label.merchant_id is None:
                counters.labels_without_merchant += 1
                continue
            key, value = label_message(label)
            sends.add(activity, partitions.by_key(activity, key), key, value)
        await sends.send()
        await to_users.apply(routed)


@app.timer(interval=settings.precision_seconds)
async def measure_alert_precision() -> None:
    """Measure the alerts' precision from the labels (never raises: figures wait)."""
    global precision
    writer = alert_writer()
    await writer.pool.open(wait=False)
    try:
        async with writer.pool.connection() as conn:
            measured = await measure_precision(conn, time.time())
    except Exception as exc:  # a database away or not migrated yet: try at the next tick
        logger.debug("alert precision not measured: %r", exc)
        return
    precision = measured
    for by, rows in (
        ("level", measured.by_level),
        ("rule", measured.by_rule),
        ("model", measured.by_model),
    ):
        for name, settled in rows.items():
            metrics.SETTLED_ALERTS.labels(by, name).set(settled.settled)
            if settled.precision is not None:
                metrics.ALERT_PRECISION.labels(by, name).set(settled.precision)
    metrics.MISSED_FRAUDS.set(measured.missed_frauds)

"""The ``score_transactions`` agent: validate, score, learn, emit.

One actor per worker (concurrency 1): a partition's messages arrive in
order, and a user lives in one partition, so each user's transactions are
seen in order (invariant 1). Each transaction is scored against the user's
state *before* it, then learnt; the offset stored with the state makes a
replay after a crash skip what was already learnt (invariant 2).
"""

from __future__ import annotations

import logging
import time

import orjson
from faust.types import TP

from agents import reemit
from agents.dead_letters import send_dead_letter
from agents.redelivery import RedeliveryGuard
from app import app
from app.counters import counters
from app.detection import detector
from app.logs import undo_spinner_debug_level
from app.topics import alerts_topic, declare_output_topics, scores_topic, transactions_topic
from models import profile as profiles
from models import velocity as velocities
from models.records import score_record
from models.transaction import InvalidTransaction, parse_transaction
from tables.profiles import get_profile, put_profile
from tables.velocity import get_velocity, put_velocity

logger = logging.getLogger(__name__)

PRODUCER_BUFFER_MESSAGES = 10_000


def committed(tp: TP) -> int | None:
    """The partition's last committed offset, as this worker's consumer knows it."""
    # Faust keeps it in a private mapping; without it verdicts are kept longer.
    return getattr(app.consumer, "_committed_offset", {}).get(tp)


@app.agent(transactions_topic)
async def score_transactions(stream):
    """Consume ``transactions``; emit every verdict to ``scores``, flagged ones to ``alerts``."""
    await declare_output_topics()
    undo_spinner_debug_level()
    # Table writes queue their changelog messages in Faust's producer buffer,
    # and the stream pauses (with a warning per event) whenever it holds more
    # than 100: allow a larger backlog, drained in the background.
    app.producer.buffer.max_messages = PRODUCER_BUFFER_MESSAGES
    judge = detector()
    guard = RedeliveryGuard()
    async for event in stream.events():
        arrived = time.perf_counter()
        message = event.message
        if not guard.first_time(message.partition, message.offset):
            counters.skipped_replays += 1
            continue
        try:
            tx = parse_transaction(message.value)
        except InvalidTransaction as exc:
            await send_dead_letter(message, exc.reason, exc.detail)
            continue
        key = message.key
        if key is None or key != tx.user_id.encode():
            # State lives in the key's partition: a transaction keyed by
            # anything but its user would split that user's history.
            await send_dead_letter(
                message, "wrong_key", f"message key {key!r} is not the user_id {tx.user_id!r}"
            )
            continue
        try:
            profile = get_profile(key)
            velocity = get_velocity(key)
            profile_done = profiles.already_applied(profile, message.offset)
            velocity_done = profiles.already_applied(velocity, message.offset)
            if profile_done and velocity_done:
                kept = reemit.recall(velocity, message.offset)
                if kept is None:  # sent long before the crash
                    counters.skipped_replays += 1
                    continue
                counters.resent += 1
                record = {**tx.to_dict(), **kept}
                alert = record["is_alert"]
            else:
                verdict = judge.judge(tx, profile, velocity)
                alert = verdict.assessment.alert
                now = time.time()
                record = score_record(
                    tx,
                    verdict,
                    model_version=judge.model_version,
                    detected_at=now,
                    partition=message.partition,
                    offset=message.offset,
                    explanation=judge.explain(verdict) if alert else None,
                )
                if not profile_done:
                    put_profile(key, profiles.apply_transaction(profile, tx, message.offset))
                if not velocity_done:
                    learnt = velocities.apply_transaction(velocity, tx, message.offset)
                    reemit.remember(learnt, message.offset, record, committed(message.tp))
                    put_velocity(key, learnt)
                counters.record(verdict.assessment)
            payload = orjson.dumps(record)
            await scores_topic.send(key=key, value=payload)
            if alert:
                await alerts_topic.send(key=key, value=payload)
            counters.finished(time.perf_counter() - arrived, alert)
        except Exception as exc:  # an escaping exception would ack the message unseen
            logger.exception("failed to process %s", tx.transaction_id)
            await send_dead_letter(message, "processing_error", repr(exc))

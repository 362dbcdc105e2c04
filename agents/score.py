"""The ``score_transactions`` agent: validate, learn, score, emit.

One actor per worker (concurrency 1): a partition's messages arrive in
order, and a user lives in one partition, so each user's transactions are
seen in order (invariant 1).
"""

from __future__ import annotations

import logging

from agents.dead_letters import send_dead_letter
from agents.redelivery import RedeliveryGuard
from app import app
from app.counters import counters
from app.topics import declare_output_topics, transactions_topic
from models.profile import already_applied, apply_transaction
from models.transaction import InvalidTransaction, parse_transaction
from tables.profiles import get_profile, put_profile

logger = logging.getLogger(__name__)


@app.agent(transactions_topic)
async def score_transactions(stream):
    """Consume ``transactions`` and keep each user's profile."""
    await declare_output_topics()
    guard = RedeliveryGuard()
    async for event in stream.events():
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
            if already_applied(profile, message.offset):
                counters.skipped_replays += 1
                continue
            put_profile(key, apply_transaction(profile, tx, message.offset))
            counters.processed += 1
        except Exception as exc:  # an escaping exception would ack the message unseen
            logger.exception("failed to process %s", tx.transaction_id)
            await send_dead_letter(message, "processing_error", repr(exc))

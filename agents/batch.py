"""Scoring one batch of ``transactions`` messages: the agent's pure core.

No Faust, no Kafka, no I/O: messages and a way to read users' state in,
verdicts, new states and rejections out. The agent (:mod:`agents.score`)
does the reading, writing and sending around it.

Within a batch each user's transactions are taken in offset order, each
scored against the state *before* it (invariant 1) and then learnt, so a
user with three transactions in one batch is judged exactly as if they
had arrived one by one. The model scores the whole batch in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from agents import reemit
from models import profile as profiles
from models.detector import Detector
from models.holding import HoldPolicy
from models.merchant_activity import MerchantCounts
from models.records import score_record
from models.risk import Assessment
from models.scoring import MerchantLookup, Step, score_in_order
from models.transaction import InvalidTransaction, Transaction, parse_transaction

StateKey = tuple[int, bytes]  # (partition, user key)


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Incoming:
    """One message of ``transactions``, as the agent read it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Verdict:
    """A verdict to send: to ``scores``, and also to ``alerts`` when ``alert``."""

    index: int  # of the message in the batch
    key: bytes
    payload: bytes
    alert: bool
    assessment: Assessment | None  # None when re-sent after a crash (counted already)


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Rejection:
    """A message for the dead-letter topic, with the reason."""

    index: int
    reason: str
    detail: str


@dataclass
class BatchOutcome:
    """What the agent must do for one batch."""

    states: dict[StateKey, dict[str, Any]] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    skipped: int = 0  # replays whose verdict was sent and committed long ago
    #: The transactions learnt, counted per merchant: for ``merchant-activity``.
    merchant_counts: MerchantCounts = field(default_factory=MerchantCounts)


@dataclass(slots=True)
class _Pending:
    index: int
    message: Incoming
    tx: Transaction
    slot: StateKey


def score_batch(
    batch: Sequence[Incoming],
    state_of: Callable[[int, bytes], dict[str, Any] | None],
    judge: Detector,
    committed: Callable[[int], int | None],
    now: float,
    merchant_of: MerchantLookup | None = None,
    hold: HoldPolicy | None = None,
) -> BatchOutcome:
    """Validate, score and learn ``batch``; the states to store and the verdicts to send.

    ``state_of(partition, key)`` reads a user's stored state, a fresh copy that the
    batch may change (a decoded table value); ``committed(partition)``
    gives the partition's committed offset (verdicts below it are no longer kept);
    ``merchant_of(merchant_id, at)`` the merchant's record of fraud, where one is kept;
    ``hold``: alerted transactions are held out of the habits (models.holding).
    """
    out = BatchOutcome()
    pending: list[_Pending] = []
    steps: list[Step] = []
    before: dict[StateKey, dict[str, Any] | None] = {}  # each user's state at the batch's start
    for index, message in enumerate(batch):
        try:
            tx = parse_transaction(message.value)
        except InvalidTransaction as exc:
            out.rejections.append(Rejection(index, exc.reason, exc.detail))
            continue
        key = message.key
        if key is None or key != tx.user_id.encode():
            # State lives in the key's partition: a transaction keyed by
            # anything but its user would split that user's history.
            detail = f"message key {key!r} is not the user_id {tx.user_id!r}"
            out.rejections.append(Rejection(index, "wrong_key", detail))
            continue
        slot = (message.partition, key)
        if slot not in before:
            before[slot] = state_of(*slot)
        state = before[slot]
        profile = state["profile"] if state is not None else None
        # A partition's offsets are unique within a batch: the state at its start tells.
        if profiles.already_applied(profile, message.offset):
            kept = reemit.recall(state["velocity"] if state is not None else None, message.offset)
            if kept is None:  # sent long before the crash
                out.skipped += 1
            else:
                record = {**tx.to_dict(), **kept}
                payload = orjson.dumps(record)
                out.verdicts.append(Verdict(index, key, payload, record["is_alert"], None))
            continue
        if tx.merchant_id is not None:
            out.merchant_counts.add(tx.merchant_id, tx.timestamp, message.partition, message.offset)
        steps.append(Step(slot, tx, message.offset))
        pending.append(_Pending(index, message, tx, slot))

    def state_at_start(slot: StateKey) -> dict[str, Any] | None:
        # The state read above the first time (unchanged so far), a fresh copy after.
        return before.pop(slot) if slot in before else state_of(*slot)

    judged, states = score_in_order(steps, state_at_start, judge, merchant_of, hold)
    out.states.update(states)
    # Explained together: one walk of the trees for all the batch's alerts.
    explanations = iter(judge.explain_all([v for v in judged if v.assessment.alert]))
    for item, verdict in zip(pending, judged, strict=True):
        alert = verdict.assessment.alert
        record = score_record(
            item.tx,
            verdict,
            model_version=judge.model_version,
            detected_at=now,
            partition=item.message.partition,
            offset=item.message.offset,
            explanation=next(explanations) if alert else None,
        )
        velocity = out.states[item.slot]["velocity"]
        reemit.remember(velocity, item.message.offset, record, committed(item.message.partition))
        out.verdicts.append(
            Verdict(item.index, item.slot[1], orjson.dumps(record), alert, verdict.assessment)
        )
    out.verdicts.sort(key=lambda v: v.index)
    return out

"""Scoring transactions in order against each user's state, and learning them: one core.

The worker (:mod:`agents.batch`), ``evaluate`` and the benchmark all score
through :func:`score_in_order`, so that what is measured offline is what a
worker does. Each transaction is judged against its user's state before it
(invariant 1) and then learnt, or held when alerted (:mod:`models.holding`).

A batch is judged with one forest call. With holding, whether a transaction
is learnt depends on its verdict, and the next transaction of the same user
depends on that; so the batch is judged assuming nothing is held, and each
user whose alerts break that assumption is judged again from the first
break, assuming the verdicts just found, until every assumption holds.
Only users with an alert are judged again, mostly once: the verdicts are
exactly those of one transaction at a time, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from models import velocity as velocities
from models.detector import Detector, Verdict
from models.features import Observation, observe
from models.history import LabelsDue
from models.holding import HoldPolicy, learn_or_hold
from models.merchant_risk import MerchantView
from models.profile import learn, upgrade
from models.transaction import Transaction
from models.user_labels import apply_user_label

UserState = dict[str, Any]  # {"profile": ..., "velocity": ...}
#: The record of a transaction's merchant at its time, or None when none is kept.
#: Called once per transaction, in order (so it may also count the transaction).
MerchantLookup = Callable[[Transaction], MerchantView | None]


@dataclass(frozen=True, slots=True)
class Step:
    """One transaction to score and learn: its user's slot and its source offset."""

    slot: Hashable
    tx: Transaction
    offset: int


def score_in_order(
    steps: Sequence[Step],
    state_of: Callable[[Any], UserState | None],
    judge: Detector,
    merchant_of: MerchantLookup | None = None,
    hold: HoldPolicy | None = None,
) -> tuple[list[Verdict], dict[Any, UserState]]:
    """Verdicts on ``steps`` (in their order) and each user's state after them.

    ``state_of(slot)`` must return a fresh copy of the user's stored state
    each time it is called (a decoded table value): it is changed in place.
    Within a slot, ``steps`` must be in the user's order.
    """
    by_slot: dict[Any, list[int]] = {}
    for i, step in enumerate(steps):
        by_slot.setdefault(step.slot, []).append(i)
    merchants: list[MerchantView | None] = [None] * len(steps)
    if merchant_of is not None:
        for i, step in enumerate(steps):
            merchants[i] = merchant_of(step.tx)
    verdicts: list[Verdict | None] = [None] * len(steps)
    assumed = [False] * len(steps)  # held, as the state the step was observed on assumed
    decided_upto: dict[Any, int] = {slot: 0 for slot in by_slot}  # steps judged for good
    states: dict[Any, UserState] = {}
    todo = list(by_slot)
    while todo:
        rows: list[Observation] = []
        owners: list[int] = []
        for slot in todo:
            state = _fresh(state_of(slot))
            order = by_slot[slot]
            for position, i in enumerate(order):
                step = steps[i]
                if position >= decided_upto[slot]:
                    profile, velocity = (state or {}).get("profile"), (state or {}).get("velocity")
                    rows.append(observe(step.tx, profile, velocity, merchants[i]))
                    owners.append(i)
                state = _learn(state, step, hold, assumed[i])
            states[slot] = state  # type: ignore[assignment]
        for i, verdict in zip(owners, judge.judge_all(rows), strict=True):
            verdicts[i] = verdict
        todo = [] if hold is None else _broken(by_slot, todo, decided_upto, verdicts, assumed)
    return verdicts, states  # type: ignore[return-value]


def _broken(
    by_slot: dict[Any, list[int]],
    slots: list[Any],
    decided_upto: dict[Any, int],
    verdicts: list[Verdict | None],
    assumed: list[bool],
) -> list[Any]:
    """The slots whose verdicts broke what their states assumed; assumptions updated."""
    again = []
    for slot in slots:
        order = by_slot[slot]
        for position in range(decided_upto[slot], len(order)):
            i = order[position]
            alert = verdicts[i].assessment.alert  # type: ignore[union-attr]
            if alert != assumed[i]:
                # Judged on the right state, but the steps after it were not.
                assumed[i] = alert
                for later in order[position + 1 :]:
                    assumed[later] = verdicts[later].assessment.alert  # type: ignore[union-attr]
                decided_upto[slot] = position + 1
                again.append(slot)  # its state is rebuilt even if nothing is left to judge
                break
        else:
            decided_upto[slot] = len(order)
    return again


def _fresh(state: UserState | None) -> UserState | None:
    if state is not None:
        upgrade(state["profile"])  # stored by an older version, perhaps
    return state


def _learn(state: UserState | None, step: Step, hold: HoldPolicy | None, held: bool) -> UserState:
    profile = state["profile"] if state is not None else None
    velocity = state["velocity"] if state is not None else None
    if hold is None:
        profile = learn(profile, step.tx, step.offset)
    else:
        profile = learn_or_hold(profile, step.tx, step.offset, hold, flagged=held)
    return {"profile": profile, "velocity": velocities.learn(velocity, step.tx, step.offset)}


def score_stream(
    transactions: Iterable[Transaction],
    judge: Detector,
    merchant_of: MerchantLookup | None = None,
    hold: HoldPolicy | None = None,
    batch: int = 2000,
    labels_due: LabelsDue | None = None,
) -> Iterator[tuple[Transaction, Verdict]]:
    """Each transaction with its verdict, scored in batches as a worker would (offline).

    Users' states are kept as JSON in memory, as the worker's table keeps them.
    With ``labels_due``, the labels known by a batch's first transaction reach
    their users' state before the batch (:mod:`models.user_labels`).
    """
    store: dict[str, bytes] = {}

    def state_of(slot: Any) -> UserState | None:
        raw = store.get(slot)
        return None if raw is None else orjson.loads(raw)

    chunk: list[Step] = []

    def flush() -> Iterator[tuple[Transaction, Verdict]]:
        if labels_due is not None:
            for label in labels_due(chunk[0].tx.timestamp):
                raw = store.get(label.user_id)
                if raw is not None:
                    state = orjson.loads(raw)
                    if apply_user_label(upgrade(state["profile"]), label):
                        store[label.user_id] = orjson.dumps(state)
        verdicts, states = score_in_order(chunk, state_of, judge, merchant_of, hold)
        store.update((slot, orjson.dumps(state)) for slot, state in states.items())
        yield from zip((step.tx for step in chunk), verdicts, strict=True)
        chunk.clear()

    for offset, tx in enumerate(transactions):
        chunk.append(Step(tx.user_id, tx, offset))
        if len(chunk) == batch:
            yield from flush()
    if chunk:
        yield from flush()

"""Replaying transactions through per-user state, outside Faust.

:func:`walk` keeps profiles and velocity in dicts exactly as the agent keeps
them in its tables, so offline training and evaluation see each transaction
with the same state the live worker would (invariant 7).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from models import profile as profiles
from models import velocity as velocities
from models.labels import Label
from models.transaction import Transaction
from models.user_labels import apply_user_label

#: Labels that became known by a time, each handed out once (LabelFeedback.user_labels_due).
LabelsDue = Callable[[float], Iterable[Label]]


def walk(
    transactions: Iterable[Transaction],
    labels_due: LabelsDue | None = None,
) -> Iterator[tuple[Transaction, profiles.Profile | None, velocities.Velocity | None]]:
    """Yield each transaction with its user's state before it, then learn it.

    With ``labels_due``, the labels known by each transaction's time reach
    their users' state first (:mod:`models.user_labels`), as they would live.
    """
    user_profiles: dict[str, profiles.Profile] = {}
    user_velocity: dict[str, velocities.Velocity] = {}
    for offset, tx in enumerate(transactions):
        if labels_due is not None:
            for label in labels_due(tx.timestamp):
                known = user_profiles.get(label.user_id)
                if known is not None:
                    apply_user_label(known, label)
        profile = user_profiles.get(tx.user_id)
        velocity = user_velocity.get(tx.user_id)
        yield tx, profile, velocity
        user_profiles[tx.user_id] = profiles.apply_transaction(profile, tx, offset)
        user_velocity[tx.user_id] = velocities.apply_transaction(velocity, tx, offset)

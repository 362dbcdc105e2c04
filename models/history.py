"""Replaying transactions through per-user state, outside Faust.

:func:`walk` keeps profiles and velocity in dicts exactly as the agent keeps
them in its tables, so offline training and evaluation see each transaction
with the same state the live worker would (invariant 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from models import profile as profiles
from models import velocity as velocities
from models.transaction import Transaction


def walk(
    transactions: Iterable[Transaction],
) -> Iterator[tuple[Transaction, profiles.Profile | None, velocities.Velocity | None]]:
    """Yield each transaction with its user's state before it, then learn it."""
    user_profiles: dict[str, profiles.Profile] = {}
    user_velocity: dict[str, velocities.Velocity] = {}
    for offset, tx in enumerate(transactions):
        profile = user_profiles.get(tx.user_id)
        velocity = user_velocity.get(tx.user_id)
        yield tx, profile, velocity
        user_profiles[tx.user_id] = profiles.apply_transaction(profile, tx, offset)
        user_velocity[tx.user_id] = velocities.apply_transaction(velocity, tx, offset)

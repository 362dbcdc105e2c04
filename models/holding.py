"""Holding flagged transactions out of a user's habits until they are cleared.

A transaction txwatch alerts on may be fraud. Learnt at once, it would teach
the user's profile the fraudster's merchant, place and amount, and the
fraudster's next transactions would look familiar. So an alerted transaction
is *held*: kept beside the profile, not learnt into it. A ``genuine`` label
learns it; a ``fraud`` label drops it; a transaction held for
:attr:`HoldPolicy.seconds` of the user's own event time, with no label, is
learnt (most alerts are false alarms, and a user who really moved must stop
alerting eventually). Velocity still counts held transactions: a burst is a
burst whoever made it. Event time, not the clock, decides the release, so a
replay gives the same profile.

>>> from models.transaction import Transaction
>>> policy = HoldPolicy(seconds=3600.0)
>>> p = learn_or_hold(None, Transaction("t1", "u", 10.0, 1.7e9, location="FR"), 0, policy)
>>> p = learn_or_hold(p, Transaction("t2", "u", 900.0, 1.7e9 + 60, location="BR"), 1, policy,
...                   flagged=True)
>>> p["count"], sorted(p["locations"]), [h[0] for h in p["held"]]
(1, ['FR'], [1])
>>> p = learn_or_hold(p, Transaction("t3", "u", 12.0, 1.7e9 + 7200, location="FR"), 2, policy)
>>> p["count"], sorted(p["locations"]), p["held"], p["last_offset"]
(3, ['BR', 'FR'], [], 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from models import profile as profiles
from models.profile import Profile
from models.transaction import Transaction, validate_transaction

#: Held transactions kept per user at most; beyond, the oldest is learnt.
MAX_HELD: Final = 16


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """How long an alerted transaction stays out of the habits without a label."""

    seconds: float = 3 * 86_400.0
    max_held: int = MAX_HELD


def learn_or_hold(
    profile: Profile | None,
    tx: Transaction,
    offset: int,
    policy: HoldPolicy,
    flagged: bool = False,
) -> Profile:
    """``profile`` (in place; new if None) after ``tx``: learnt, or held when ``flagged``.

    Held transactions older than the policy allows at ``tx``'s time are learnt
    first. Either way the profile records ``offset`` as applied.
    """
    updated = profile if profile is not None else profiles.new_profile()
    held = updated.get("held")
    if held:
        while held and tx.timestamp - held[0][1]["timestamp_epoch"] > policy.seconds:
            _learn_held(updated, held.pop(0))
    if not flagged:
        return profiles.learn(updated, tx, offset)
    record = tx.to_dict()
    record["timestamp_epoch"] = tx.timestamp
    updated.setdefault("held", []).append([offset, record])
    updated["last_offset"] = offset
    while len(updated["held"]) > policy.max_held:
        _learn_held(updated, updated["held"].pop(0))
    return updated


def settle(profile: Profile, transaction_id: str, fraud: bool) -> bool:
    """Settle a held transaction by its label, in place: genuine is learnt, fraud dropped.

    False when ``transaction_id`` is not held (learnt already, or never seen here).
    """
    held = profile.get("held") or []
    for i, (_, record) in enumerate(held):
        if record["transaction_id"] == transaction_id:
            entry = held.pop(i)
            if not fraud:
                _learn_held(profile, entry)
            return True
    return False


def held_count(profile: Profile | None) -> int:
    """How many of the user's transactions are held."""
    return len(profile.get("held") or ()) if profile is not None else 0


def _learn_held(profile: Profile, entry: list) -> None:
    record = dict(entry[1])
    record.pop("timestamp_epoch", None)
    # The offset applied stays the newest: learning an old transaction late
    # must not make a replay take newer ones for new.
    profiles.learn(profile, validate_transaction(record), profile["last_offset"])

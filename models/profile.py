"""A user's behaviour profile, as a plain JSON-ready dict.

Profiles are stored in a changelogged table, so they stay plain data: a dict
of numbers, strings and small dicts that serializes cheaply.
"""

from __future__ import annotations

from typing import Any

from models.transaction import Transaction

Profile = dict[str, Any]


def new_profile() -> Profile:
    """An empty profile: no transaction seen, no source offset applied."""
    return {"count": 0, "first_seen": None, "last_seen": None, "last_offset": -1}


def already_applied(profile: Profile | None, offset: int) -> bool:
    """True if the source message at ``offset`` was applied to ``profile`` before.

    Offsets grow within a partition and a user lives in one partition, so a
    replay after a crash re-delivers only offsets at or below the last one
    applied (invariant 2, effectively-once state).
    """
    return profile is not None and offset <= profile["last_offset"]


def apply_transaction(profile: Profile | None, tx: Transaction, offset: int) -> Profile:
    """The profile after learning ``tx`` (a new dict; the input is left as it was)."""
    updated = dict(profile) if profile is not None else new_profile()
    updated["count"] += 1
    if updated["first_seen"] is None or tx.timestamp < updated["first_seen"]:
        updated["first_seen"] = tx.timestamp
    if updated["last_seen"] is None or tx.timestamp > updated["last_seen"]:
        updated["last_seen"] = tx.timestamp
    updated["last_offset"] = offset
    return updated

"""A user's behaviour profile, as a plain JSON-ready dict.

Profiles live in a changelogged table, so they stay plain data: numbers,
strings, small dicts and one list, cheap to serialize. Everything here is a
pure function of the user's transactions in the order they were applied.
"""

from __future__ import annotations

import math
from typing import Any, Final

from models.transaction import Transaction
from models.transaction import log_amount as amount_log

Profile = dict[str, Any]

#: Distinct values kept per categorical field; the rarest is forgotten first.
MAX_CATEGORY_VALUES: Final = 32

#: Categorical fields learnt per user: profile key -> transaction attribute.
CATEGORICAL_FIELDS: Final = {
    "locations": "location",
    "merchant_categories": "merchant_category",
    "payment_methods": "payment_method",
    "devices": "device_id",
    "merchants": "merchant_id",
}

#: The layout of a stored profile. 1 (no ``schema`` key): before ``merchants`` and ``misses``.
SCHEMA: Final = 2
#: Key of the hour of day in ``misses`` (beside the categorical fields' keys).
HOURS: Final = "hours"


def new_profile() -> Profile:
    """An empty profile: nothing seen, no source offset applied."""
    return {
        "schema": SCHEMA,
        "count": 0,
        "amount_log_mean": 0.0,
        "amount_log_m2": 0.0,
        **{name: {} for name in CATEGORICAL_FIELDS},
        "hours": [0] * 24,
        # Per field, the transactions whose value the profile did not hold: the user's
        # own rate of new values (capped fields forget values, so a count of kept
        # values seen once would undercount it).
        "misses": {name: 0 for name in (*CATEGORICAL_FIELDS, HOURS)},
        "first_seen": None,
        "last_seen": None,
        "last_location": None,
        "last_offset": -1,
    }


def upgrade(profile: Profile) -> Profile:
    """``profile`` brought to the current :data:`SCHEMA` in place (and returned).

    Stored profiles outlive code changes: one written before a field existed
    gains it empty, so an existing user is scored, never dead-lettered, after
    an upgrade.

    >>> upgrade({"count": 3, "locations": {"US": 3}})["merchants"]
    {}
    """
    if profile.get("schema") != SCHEMA:
        for name in CATEGORICAL_FIELDS:
            profile.setdefault(name, {})
        # Each value kept was new once; each hour used, too: the best guess at what was missed.
        misses = {name: len(profile[name]) for name in CATEGORICAL_FIELDS}
        misses[HOURS] = sum(1 for count in profile.get("hours", ()) if count)
        profile.setdefault("misses", misses)
        profile["schema"] = SCHEMA
    return profile


def hours_near(hours: list[int], hour: int) -> int:
    """Transactions the user made within an hour of ``hour`` (UTC hour of day)."""
    return hours[hour - 1] + hours[hour] + hours[(hour + 1) % 24]


def already_applied(state: dict[str, Any] | None, offset: int) -> bool:
    """True if the source message at ``offset`` was applied to ``state`` before.

    Offsets grow within a partition and a user lives in one partition, so a
    replay after a crash re-delivers only offsets at or below the last one
    applied (invariant 2, effectively-once state).
    """
    return state is not None and offset <= state["last_offset"]


def hour_of_day(epoch: float) -> int:
    """The UTC hour (0-23) of an event time."""
    return int(epoch // 3600) % 24


def amount_log_std(profile: Profile) -> float:
    """Sample standard deviation of the user's log amounts (0.0 below two transactions)."""
    count = profile["count"]
    return math.sqrt(profile["amount_log_m2"] / (count - 1)) if count > 1 else 0.0


def apply_transaction(profile: Profile | None, tx: Transaction, offset: int) -> Profile:
    """The profile after learning ``tx``; the input is left unchanged."""
    if profile is None:
        return learn(None, tx, offset)
    copied = dict(profile)
    for name in CATEGORICAL_FIELDS:
        copied[name] = dict(profile[name])
    copied["hours"] = list(profile["hours"])
    copied["misses"] = dict(profile["misses"])
    return learn(copied, tx, offset)


def learn(profile: Profile | None, tx: Transaction, offset: int) -> Profile:
    """Learn ``tx`` into ``profile`` in place (a new profile if None) and return it.

    For the agent, whose states are freshly decoded and its own to change:
    the same result as :func:`apply_transaction` without copying the state.
    """
    updated = profile if profile is not None else new_profile()
    count = updated["count"] + 1
    updated["count"] = count
    # Welford's update on log amounts: stable, one pass, O(1) state.
    log_amount = amount_log(tx.amount)
    old_mean = updated["amount_log_mean"]
    delta = log_amount - old_mean
    mean = old_mean + delta / count
    updated["amount_log_mean"] = mean
    updated["amount_log_m2"] = updated["amount_log_m2"] + delta * (log_amount - mean)
    misses = updated["misses"]
    for name, attribute in CATEGORICAL_FIELDS.items():
        value = getattr(tx, attribute)
        if value is not None:
            counts = updated[name]
            if value not in counts:
                misses[name] += 1
            _count_value(counts, value)
    hours = updated["hours"]
    hour = hour_of_day(tx.timestamp)
    if not hours_near(hours, hour):
        misses[HOURS] += 1
    hours[hour] += 1
    timestamp = tx.timestamp
    first_seen = updated["first_seen"]
    if first_seen is None or timestamp < first_seen:
        updated["first_seen"] = timestamp
    last_seen = updated["last_seen"]
    if last_seen is None or timestamp >= last_seen:
        updated["last_seen"] = timestamp
        updated["last_location"] = tx.location
    updated["last_offset"] = offset
    return updated


def _count_value(counts: dict[str, int], value: str) -> None:
    counts[value] = counts.get(value, 0) + 1
    if len(counts) > MAX_CATEGORY_VALUES:
        # Forget the rarest value other than the one just seen; ties go to
        # the smallest name so that every worker forgets the same one.
        rarest = min((c, v) for v, c in counts.items() if v != value)[1]
        del counts[rarest]

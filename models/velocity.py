"""Per-user velocity: how much a user did in the last minutes and hours.

Windows follow event time (the transactions' timestamps), never the wall
clock, so replaying last month's data gives the same figures as live traffic
did (invariant 5). The last hour is kept event by event (exact windows of 1
minute, 10 minutes and 1 hour); the last day as hourly buckets (a 24-hour
window at hour resolution: the current hour and the 23 before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

from models.transaction import Transaction

Velocity = dict[str, Any]

MINUTE: Final = 60.0
HOUR: Final = 3600.0
#: Events kept for the exact windows; a burst beyond this saturates them.
MAX_RECENT_EVENTS: Final = 256
#: An amount at or below this counts as a "small" one (card testing probes).
SMALL_AMOUNT: Final = 5.0


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Windows:
    """What a user did before one transaction, in windows ending at its event time."""

    count_1m: int
    count_10m: int
    count_1h: int
    count_24h: int
    sum_1m: float
    sum_10m: float
    sum_1h: float
    sum_24h: float
    locations_10m: int
    locations_1h: int
    small_10m: int
    #: Earlier transactions per location in the last hour and 10 minutes (not ``tx``'s own).
    visits_1h: dict[str, int]
    visits_10m: dict[str, int]


#: The layout of a stored velocity state; a state without ``schema`` has layout 1 too.
SCHEMA: Final = 1


def new_velocity() -> Velocity:
    """An empty velocity state."""
    return {"schema": SCHEMA, "recent": [], "hourly": {}, "max_seen": None, "last_offset": -1}


def windows_at(velocity: Velocity | None, tx: Transaction) -> Windows:
    """The windows ending at ``tx``'s event time, counting only earlier-applied events.

    Distinct-location counts include ``tx``'s own location, since "several
    locations within minutes" is about the situation this transaction makes.
    Events applied before but stamped after ``tx`` (late arrivals) are not
    counted in the exact windows.
    """
    if velocity is None or not (velocity["recent"] or velocity["hourly"]):
        # Nothing learnt yet (a newcomer): every window is empty.
        here = 0 if tx.location is None else 1
        return Windows(
            count_1m=0,
            count_10m=0,
            count_1h=0,
            count_24h=0,
            sum_1m=0.0,
            sum_10m=0.0,
            sum_1h=0.0,
            sum_24h=0.0,
            locations_10m=here,
            locations_1h=here,
            small_10m=0,
            visits_1h={},
            visits_10m={},
        )
    t = tx.timestamp
    count = [0, 0, 0]
    total = [0.0, 0.0, 0.0]
    small_10m = 0
    visits_10m: dict[str, int] = {}
    visits_1h: dict[str, int] = {}
    count_24h, sum_24h = 0, 0.0
    if velocity is not None:
        for ts, amount, location in velocity["recent"]:
            age = t - ts
            if age < 0 or age >= HOUR:
                continue
            count[2] += 1
            total[2] += amount
            if location is not None:
                visits_1h[location] = visits_1h.get(location, 0) + 1
            if age < 10 * MINUTE:
                count[1] += 1
                total[1] += amount
                small_10m += amount <= SMALL_AMOUNT
                if location is not None:
                    visits_10m[location] = visits_10m.get(location, 0) + 1
                if age < MINUTE:
                    count[0] += 1
                    total[0] += amount
        hour = int(t // HOUR)
        for bucket, (n, amount_sum) in velocity["hourly"].items():
            if hour - 24 < int(bucket) <= hour:
                count_24h += n
                sum_24h += amount_sum
    return Windows(
        count_1m=count[0],
        count_10m=count[1],
        count_1h=count[2],
        count_24h=count_24h,
        sum_1m=total[0],
        sum_10m=total[1],
        sum_1h=total[2],
        sum_24h=sum_24h,
        locations_10m=len(visits_10m) + (tx.location is not None and tx.location not in visits_10m),
        locations_1h=len(visits_1h) + (tx.location is not None and tx.location not in visits_1h),
        small_10m=small_10m,
        visits_1h=visits_1h,
        visits_10m=visits_10m,
    )


def apply_transaction(velocity: Velocity | None, tx: Transaction, offset: int) -> Velocity:
    """The velocity state after ``tx``; the input is left unchanged.

    Events older than the newest event time seen minus the window are
    dropped, so the state stays small whatever the user's history.
    """
    if velocity is None:
        return learn(None, tx, offset)
    copied = {**velocity, "recent": list(velocity["recent"]), "hourly": dict(velocity["hourly"])}
    return learn(copied, tx, offset)


def learn(velocity: Velocity | None, tx: Transaction, offset: int) -> Velocity:
    """Learn ``tx`` into ``velocity`` in place (a new state if None) and return it.

    The same result as :func:`apply_transaction`, without copying: for the
    agent, whose states are freshly decoded and its own to change. Keys this
    module does not own (the agent's kept verdicts) are left as they are.
    """
    state = velocity if velocity is not None else new_velocity()
    timestamp = tx.timestamp
    max_seen = state["max_seen"]
    if max_seen is None or timestamp > max_seen:
        max_seen = state["max_seen"] = timestamp
    horizon = max_seen - HOUR
    recent = state["recent"]
    if recent and recent[0][0] <= horizon:  # kept in event-time order: oldest first
        recent = state["recent"] = [event for event in recent if event[0] > horizon]
    recent.append([timestamp, tx.amount, tx.location])
    if len(recent) > 1 and timestamp < recent[-2][0]:
        recent.sort(key=itemgetter(0))  # a late arrival: keep event-time order
    if len(recent) > MAX_RECENT_EVENTS:
        del recent[:-MAX_RECENT_EVENTS]
    oldest_hour = int(max_seen // HOUR) - 23
    hourly = state["hourly"]
    for expired in [b for b in hourly if int(b) < oldest_hour]:
        del hourly[expired]
    hour = int(timestamp // HOUR)
    if hour >= oldest_hour:
        bucket = str(hour)
        n, amount_sum = hourly.get(bucket, (0, 0.0))
        hourly[bucket] = [n + 1, amount_sum + tx.amount]
    state["last_offset"] = offset
    return state

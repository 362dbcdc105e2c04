"""Each merchant's fraud record: its transactions per day, and the frauds labels reveal.

A compromised terminal's transactions look like any others, one by one; what
gives it away is fraud reported on it earlier (the Fraud Detection
Handbook's "terminal risk" features). The state is a plain JSON-ready dict,
kept per ``merchant_id`` like a user's profile: transactions per UTC day
over the last :data:`WINDOW_DAYS`, and the confirmed frauds by transaction
id (so a label delivered twice counts once, and a later "genuine" takes a
fraud back).

>>> state = None
>>> for hour in range(10):
...     state = count_transaction(state, 1767225600.0 + hour * 3600, offset=hour)
>>> record_label(state, Label("t3", "u", 1, 1767830400.0, "m", 1767236400.0))
True
>>> view = merchant_view(state, at=1767830400.0)
>>> view
MerchantView(transactions=10, frauds=1)
>>> round(merchant_nats(view, fraud_rate=0.005), 2)  # 1 fraud in 10: 1 in 20 for a fair shop
3.02
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from models.labels import Label

MerchantState = dict[str, Any]
#: The compact form every worker keeps: ``{"days": {day: n}, "frauds": {day: n}}``.
RiskRecord = dict[str, dict[str, int]]

#: Days of transactions and frauds a merchant's record covers: recent enough that a
#: terminal cleaned up stops counting against its customers. 14 ranked best of 10, 14,
#: 21 and 30 on the handbook-method simulator with labels a week late (docs/detection.md).
WINDOW_DAYS: Final = 14
DAY: Final = 86_400
#: The share of fraud assumed when training saw no labels.
DEFAULT_FRAUD_RATE: Final = 0.005
#: Rarest a merchant's record can be (as the signals' own floor): at most 9.2 nats.
MIN_SHARE: Final = 1e-4
#: How far a merchant's transactions may move before its risk record is published again.
REPUBLISH_CHANGE: Final = 0.1


@dataclass(frozen=True, slots=True)
class MerchantView:
    """What a merchant's record says at one moment: its recent transactions and frauds."""

    transactions: int
    frauds: int


#: The layout of a stored merchant record (``schema``).
SCHEMA: Final = 1


def new_merchant() -> MerchantState:
    """An empty record: no day counted, no fraud known, no source offset applied."""
    return {"schema": SCHEMA, "days": {}, "frauds": {}, "sources": {}, "published": None}


def count_transaction(state: MerchantState | None, timestamp: float, offset: int) -> MerchantState:
    """Count one transaction at ``timestamp`` (in place; a new record if None) and return it."""
    record = state if state is not None else new_merchant()
    count_days(record, {int(timestamp // DAY): 1}, {0: offset})
    return record


def count_days(state: MerchantState, days: Mapping[int, int], offsets: Mapping[int, int]) -> bool:
    """Add transactions per UTC day that reach ``offsets`` of their source partitions (in place).

    A worker sends a merchant's counts in source offset order, so counts none
    of whose offsets is beyond those recorded for their partitions were taken
    already (a replay after a crash): they are left out and False returned.
    """
    sources = state.setdefault("sources", {})
    if all(offset <= sources.get(str(p), -1) for p, offset in offsets.items()):
        return False
    for partition, offset in offsets.items():
        sources[str(partition)] = max(offset, sources.get(str(partition), -1))
    counted = state["days"]
    for day, count in days.items():
        key = str(day)
        counted[key] = counted.get(key, 0) + count
    newest = max(int(d) for d in counted)
    for old in [d for d in counted if int(d) <= newest - WINDOW_DAYS]:
        del counted[old]
    frauds = state["frauds"]
    for old in [t for t, d in frauds.items() if d <= newest - WINDOW_DAYS]:
        del frauds[old]
    return True


def record_label(state: MerchantState, label: Label) -> bool:
    """Take ``label`` into the record, in place: a fraud is counted once, a genuine uncounts it.

    The fraud is dated by the transaction's own time when the label gives it,
    else by when it became known. True when the record changed.
    """
    frauds = state["frauds"]
    if label.label == 1:
        when = label.timestamp if label.timestamp is not None else label.known_at
        day = int(when // DAY)
        changed = frauds.get(label.transaction_id) != day
        frauds[label.transaction_id] = day
        return changed
    return frauds.pop(label.transaction_id, None) is not None


def merchant_view(state: MerchantState | None, at: float) -> MerchantView:
    """The record's transactions and frauds in the :data:`WINDOW_DAYS` days up to ``at``."""
    if state is None:
        return MerchantView(0, 0)
    return _window(state["days"], _fraud_days(state), at)


def risk_record(state: MerchantState) -> RiskRecord | None:
    """What scoring needs of the record: counts per day, None without a known fraud.

    Every worker keeps these for every merchant with fraud on record, so they
    are small: a merchant without fraud scores no evidence and needs none.
    """
    if not state["frauds"]:
        return None
    return {"days": dict(state["days"]), "frauds": _fraud_days(state)}


def risk_view(record: RiskRecord | None, at: float) -> MerchantView:
    """:func:`merchant_view` of the record a :func:`risk_record` was taken from, at ``at``."""
    if record is None:
        return MerchantView(0, 0)
    return _window(record["days"], record["frauds"], at)


def publication(state: MerchantState, label_changed: bool) -> tuple[bool, RiskRecord | None]:
    """Whether to publish the merchant's risk record now, and the record (None: retract it).

    Published when a label changed it, when a new day began, or when its
    transactions moved by :data:`REPUBLISH_CHANGE` since the last one, so a
    busy merchant costs a message a few times a day, not one per batch.
    Marks the record as published (in place) when the answer is yes.
    """
    record = risk_record(state)
    last = state.get("published")
    if record is None:
        state["published"] = None
        return last is not None, None
    newest = max((int(d) for d in record["days"]), default=0)
    total = sum(record["days"].values())
    due = (
        label_changed
        or last is None
        or last[0] != newest
        or abs(total - last[1]) > REPUBLISH_CHANGE * max(last[1], 1)
    )
    if due:
        state["published"] = [newest, total]
    return due, record


def _fraud_days(state: MerchantState) -> dict[str, int]:
    """The record's confirmed frauds counted per UTC day."""
    per_day: dict[str, int] = {}
    for day in state["frauds"].values():
        per_day[str(day)] = per_day.get(str(day), 0) + 1
    return per_day


def _window(days: dict[str, int], fraud_days: dict[str, int], at: float) -> MerchantView:
    today = int(at // DAY)
    first = today - WINDOW_DAYS
    transactions = sum(n for d, n in days.items() if first < int(d) <= today)
    frauds = sum(n for d, n in fraud_days.items() if first < int(d) <= today)
    return MerchantView(transactions, frauds)


def merchant_nats(view: MerchantView, fraud_rate: float) -> float:
    """How rare so many reported frauds are for a merchant with the usual ``fraud_rate``.

    ``-log P(N >= frauds)`` for N Poisson with mean ``transactions * fraud_rate``,
    at most ``-log MIN_SHARE``. A shop with one fraud among thousands is no
    news; one with ten among forty is compromised.
    """
    k = view.frauds
    if k == 0:
        return 0.0
    mu = max(view.transactions, k) * fraud_rate
    return min(-math.log(MIN_SHARE), _poisson_tail_nats(k, mu))


def _poisson_tail_nats(k: int, mu: float) -> float:
    """-log P(N >= k) for N ~ Poisson(mu), k >= 1."""
    if mu >= k:
        below = sum(math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1)) for i in range(k))
        return -math.log(max(1.0 - below, 1e-300))
    # Well below the mean's reach, the sum of the pmf from k on; its first terms dominate.
    log_first = -mu + k * math.log(mu) - math.lgamma(k + 1)
    term, total = 1.0, 1.0
    for i in range(k + 1, k + 200):
        term *= mu / i
        total += term
        if term < 1e-12 * total:
            break
    return -(log_first + math.log(total))

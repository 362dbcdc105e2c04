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
>>> view = merchant_view(state, at=1767830400.0)
>>> view
MerchantView(transactions=10, frauds=1)
>>> round(merchant_nats(view, fraud_rate=0.005), 2)  # 1 fraud in 10: 1 in 20 for a fair shop
3.02
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from models.labels import Label

MerchantState = dict[str, Any]

#: Days of transactions and frauds a merchant's record covers: recent enough that a
#: terminal cleaned up stops counting against its customers. 14 ranked best of 10, 14,
#: 21 and 30 on the handbook-method simulator with labels a week late (docs/detection.md).
WINDOW_DAYS: Final = 14
DAY: Final = 86_400
#: The share of fraud assumed when training saw no labels.
DEFAULT_FRAUD_RATE: Final = 0.005
#: Rarest a merchant's record can be (as the signals' own floor): at most 9.2 nats.
MIN_SHARE: Final = 1e-4


@dataclass(frozen=True, slots=True)
class MerchantView:
    """What a merchant's record says at one moment: its recent transactions and frauds."""

    transactions: int
    frauds: int


def new_merchant() -> MerchantState:
    """An empty record: no day counted, no fraud known, no source offset applied."""
    return {"days": {}, "frauds": {}, "last_offset": -1}


def count_transaction(state: MerchantState | None, timestamp: float, offset: int) -> MerchantState:
    """Count one transaction at ``timestamp`` (in place; a new record if None) and return it."""
    record = state if state is not None else new_merchant()
    day = int(timestamp // DAY)
    days = record["days"]
    key = str(day)
    days[key] = days.get(key, 0) + 1
    newest = max(int(d) for d in days)
    for old in [d for d in days if int(d) <= newest - WINDOW_DAYS]:
        del days[old]
    frauds = record["frauds"]
    for old in [t for t, d in frauds.items() if d <= newest - WINDOW_DAYS]:
        del frauds[old]
    record["last_offset"] = offset
    return record


def record_label(state: MerchantState, label: Label) -> None:
    """Take ``label`` into the record, in place: a fraud is counted once, a genuine uncounts it.

    The fraud is dated by the transaction's own time when the label gives it,
    else by when it became known.
    """
    frauds = state["frauds"]
    if label.label == 1:
        when = label.timestamp if label.timestamp is not None else label.known_at
        frauds[label.transaction_id] = int(when // DAY)
    else:
        frauds.pop(label.transaction_id, None)


def merchant_view(state: MerchantState | None, at: float) -> MerchantView:
    """The record's transactions and frauds in the :data:`WINDOW_DAYS` days up to ``at``."""
    if state is None:
        return MerchantView(0, 0)
    today = int(at // DAY)
    first = today - WINDOW_DAYS
    transactions = sum(n for d, n in state["days"].items() if first < int(d) <= today)
    frauds = sum(1 for d in state["frauds"].values() if first < d <= today)
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

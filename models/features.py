"""What txwatch observes about a transaction, given the user's history.

:func:`observe` is the one feature function: training runs every
transaction through it exactly as the live agent does (invariant 7), and
both the rules and the Isolation Forest read its result. It reads the state
*before* the transaction is learnt, so a transaction never sees itself, and
it never reads ``label`` or ``anomaly_kind``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from models.profile import Profile, amount_log_std, hour_of_day
from models.transaction import MIN_LOG_AMOUNT, Transaction
from models.transaction import log_amount as amount_log
from models.velocity import SMALL_AMOUNT, Velocity, Windows, windows_at

#: The model's inputs, in order. Changing them needs a newly trained model.
FEATURE_NAMES: Final = (
    "log_amount",
    "amount_zscore",
    "location_surprise",
    "merchant_category_surprise",
    "payment_method_surprise",
    "device_surprise",
    "hour_surprise",
    "log_count_1m",
    "log_count_10m",
    "log_count_1h",
    "log_count_24h",
    "log_sum_1h_ratio",
    "extra_locations_10m",
    "extra_locations_1h",
    "small_amounts_10m",
    "log_seconds_since_last",
    "log_history",
)

#: Prior spread of a user's log amounts, blended in while history is short,
#: so that a second transaction twice the first is not a 10-sigma event.
PRIOR_LOG_STD: Final = 0.6
PRIOR_WEIGHT: Final = 3.0
#: Seconds-since-last for a user's first transaction (about 30 days).
NO_PREVIOUS_SECONDS: Final = 30 * 86400.0
#: History at which a habit is half trusted: with fewer transactions, a new
#: place or hour says little (a newcomer's every purchase is "new").
HALF_CONFIDENCE_HISTORY: Final = 5.0


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Observation:
    """A transaction in the light of its user's history (before it is learnt)."""

    history: int
    amount: float
    amount_zscore: float
    typical_amount: float
    location_seen: int | None
    merchant_category_seen: int | None
    payment_method_seen: int | None
    device_seen: int | None
    hour_seen: int
    seconds_since_last: float
    windows: Windows

    @property
    def confidence(self) -> float:
        """How far the user's habits can be trusted, from 0 (newcomer) towards 1."""
        return self.history / (self.history + HALF_CONFIDENCE_HISTORY)

    def surprise(self, seen: int | None) -> float:
        """How unexpected a value is: 1/(1 + times seen), scaled by :attr:`confidence`.

        0.0 when the transaction does not carry the field.
        """
        if seen is None:
            return 0.0
        return self.confidence / (1.0 + seen)

    def vector(self) -> list[float]:
        """The model's input, in :data:`FEATURE_NAMES` order."""
        w = self.windows
        return [
            math.log1p(self.amount),
            self.amount_zscore,
            self.surprise(self.location_seen),
            self.surprise(self.merchant_category_seen),
            self.surprise(self.payment_method_seen),
            self.surprise(self.device_seen),
            self.surprise(self.hour_seen) if self.history else 0.0,
            math.log1p(w.count_1m),
            math.log1p(w.count_10m),
            math.log1p(w.count_1h),
            math.log1p(w.count_24h),
            math.log1p(w.sum_1h / self.typical_amount),
            float(max(0, w.locations_10m - 1)),
            float(max(0, w.locations_1h - 1)),
            float(w.small_10m + (self.amount <= SMALL_AMOUNT)),
            math.log1p(self.seconds_since_last),
            math.log1p(self.history),
        ]


def observe(tx: Transaction, profile: Profile | None, velocity: Velocity | None) -> Observation:
    """Compare ``tx`` with the user's profile and recent activity (neither includes ``tx``)."""
    history = profile["count"] if profile is not None else 0
    log_amount = amount_log(tx.amount)
    if profile is None or history == 0:
        zscore, typical = 0.0, max(tx.amount, MIN_LOG_AMOUNT)
        seen: dict[str, int | None] = {}
        hour_seen = 0
        since_last = NO_PREVIOUS_SECONDS
    else:
        mean = profile["amount_log_mean"]
        std = amount_log_std(profile)
        blended = math.sqrt(
            ((history - 1) * std * std + PRIOR_WEIGHT * PRIOR_LOG_STD**2)
            / (history - 1 + PRIOR_WEIGHT)
        )
        zscore = (log_amount - mean) / blended
        typical = math.exp(mean)
        seen = {
            "location": _seen(profile["locations"], tx.location),
            "merchant_category": _seen(profile["merchant_categories"], tx.merchant_category),
            "payment_method": _seen(profile["payment_methods"], tx.payment_method),
            "device_id": _seen(profile["devices"], tx.device_id),
        }
        hours = profile["hours"]
        hour = hour_of_day(tx.timestamp)
        hour_seen = hours[hour - 1] + hours[hour] + hours[(hour + 1) % 24]
        since_last = max(0.0, tx.timestamp - profile["last_seen"])
    return Observation(
        history=history,
        amount=tx.amount,
        amount_zscore=zscore,
        typical_amount=typical,
        location_seen=seen.get("location"),
        merchant_category_seen=seen.get("merchant_category"),
        payment_method_seen=seen.get("payment_method"),
        device_seen=seen.get("device_id"),
        hour_seen=hour_seen,
        seconds_since_last=since_last,
        windows=windows_at(velocity, tx),
    )


def _seen(counts: dict[str, int], value: str | None) -> int | None:
    """How often the user used ``value`` before; None when the transaction lacks it."""
    return None if value is None else counts.get(value, 0)

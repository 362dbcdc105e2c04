"""What txwatch observes about a transaction, given the user's history.

:func:`observe` is the one feature function: training runs every
transaction through it exactly as the live agent does (invariant 7), and
both the rules and the Isolation Forest read its result. It reads the state
*before* the transaction is learnt, so a transaction never sees itself, and
it never reads ``label`` or ``anomaly_kind``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from models.merchant_risk import MerchantView
from models.profile import (
    CATEGORICAL_FIELDS,
    HOURS,
    Profile,
    amount_log_std,
    hour_of_day,
    hours_near,
)
from models.transaction import MIN_LOG_AMOUNT, Transaction
from models.transaction import log_amount as amount_log
from models.user_labels import card_frauds
from models.velocity import SMALL_AMOUNT, Velocity, Windows, windows_at

#: Prior spread of a user's log amounts, blended in while history is short,
#: so that a second transaction twice the first is not a 10-sigma event.
PRIOR_LOG_STD: Final = 0.6
PRIOR_WEIGHT: Final = 3.0
#: Seconds-since-last for a user's first transaction (about 30 days).
NO_PREVIOUS_SECONDS: Final = 30 * 86400.0
#: A newcomer's new-value counts: nothing to compare with yet.
NO_COUNTS: Final[dict[str, int]] = {}
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
    merchant_seen: int | None
    hour_seen: int
    seconds_since_last: float
    windows: Windows
    #: For each profile field (and ``hours``) whose value is new to the user: how many
    #: of the user's transactions showed a new value (see :func:`new_value_count`).
    new_value_counts: dict[str, int]
    #: Distinct places in the window, the places the user knew before it counted as one.
    new_places_10m: int
    new_places_1h: int
    hour: int
    #: The transaction observed (for the values behind the counts above).
    tx: Transaction
    #: The merchant's recent record of reported fraud, when one is kept (models.merchant_risk).
    merchant: MerchantView | None = None
    #: Confirmed frauds on the user's card in the last days (models.user_labels).
    card_frauds: int = 0

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
        return [compute(self) for compute in _COMPUTED]


#: The model's inputs, each declared once: its name and how an observation gives it.
#: Changing them needs a newly trained model (a model names the features it was fit on).
FEATURES: Final[tuple[tuple[str, Callable[[Observation], float]], ...]] = (
    ("log_amount", lambda o: math.log1p(o.amount)),
    ("amount_zscore", lambda o: o.amount_zscore),
    ("location_surprise", lambda o: o.surprise(o.location_seen)),
    ("merchant_category_surprise", lambda o: o.surprise(o.merchant_category_seen)),
    ("payment_method_surprise", lambda o: o.surprise(o.payment_method_seen)),
    ("device_surprise", lambda o: o.surprise(o.device_seen)),
    ("merchant_surprise", lambda o: o.surprise(o.merchant_seen)),
    ("hour_surprise", lambda o: o.surprise(o.hour_seen) if o.history else 0.0),
    ("log_count_1m", lambda o: math.log1p(o.windows.count_1m)),
    ("log_count_10m", lambda o: math.log1p(o.windows.count_10m)),
    ("log_count_1h", lambda o: math.log1p(o.windows.count_1h)),
    ("log_count_24h", lambda o: math.log1p(o.windows.count_24h)),
    ("log_sum_1h_ratio", lambda o: math.log1p(o.windows.sum_1h / o.typical_amount)),
    ("extra_locations_10m", lambda o: float(max(0, o.new_places_10m - 1))),
    ("extra_locations_1h", lambda o: float(max(0, o.new_places_1h - 1))),
    ("small_amounts_10m", lambda o: float(o.windows.small_10m + (o.amount <= SMALL_AMOUNT))),
    ("log_seconds_since_last", lambda o: math.log1p(o.seconds_since_last)),
    ("log_history", lambda o: math.log1p(o.history)),
)
#: The features' names, in the model's column order.
FEATURE_NAMES: Final = tuple(name for name, _ in FEATURES)
_COMPUTED: Final = tuple(compute for _, compute in FEATURES)


def observe(
    tx: Transaction,
    profile: Profile | None,
    velocity: Velocity | None,
    merchant: MerchantView | None = None,
) -> Observation:
    """Compare ``tx`` with the user's profile and recent activity (neither includes ``tx``).

    ``merchant``: the merchant's record of reported fraud, where one is kept.
    """
    history = profile["count"] if profile is not None else 0
    log_amount = amount_log(tx.amount)
    hour = hour_of_day(tx.timestamp)
    windows = windows_at(velocity, tx)
    if profile is None or history == 0:
        zscore, typical = 0.0, max(tx.amount, MIN_LOG_AMOUNT)
        seen: dict[str, int | None] = {}
        new_counts = NO_COUNTS
        hour_seen = 0
        since_last = NO_PREVIOUS_SECONDS
        new_10m, new_1h = windows.locations_10m, windows.locations_1h
    else:
        mean = profile["amount_log_mean"]
        std = amount_log_std(profile)
        blended = math.sqrt(
            ((history - 1) * std * std + PRIOR_WEIGHT * PRIOR_LOG_STD**2)
            / (history - 1 + PRIOR_WEIGHT)
        )
        zscore = (log_amount - mean) / blended
        typical = math.exp(mean)
        # Written out, not looped: this runs for every transaction.
        seen = {
            "location": _seen(profile["locations"], tx.location),
            "merchant_category": _seen(profile["merchant_categories"], tx.merchant_category),
            "payment_method": _seen(profile["payment_methods"], tx.payment_method),
            "device_id": _seen(profile["devices"], tx.device_id),
            "merchant_id": _seen(profile["merchants"], tx.merchant_id),
        }
        new_counts = {}
        if 0 in seen.values():
            new_counts = {
                name: new_value_count(profile, name)
                for name, attribute in CATEGORICAL_FIELDS.items()
                if seen[attribute] == 0
            }
        hours = profile["hours"]
        hour_seen = hours_near(hours, hour)
        if hour_seen == 0:
            new_counts[HOURS] = new_value_count(profile, HOURS)
        since_last = max(0.0, tx.timestamp - profile["last_seen"])
        known = profile["locations"]
        new_10m = _new_places(known, windows.visits_10m, tx.location)
        new_1h = _new_places(known, windows.visits_1h, tx.location)
    return Observation(
        history=history,
        amount=tx.amount,
        amount_zscore=zscore,
        typical_amount=typical,
        location_seen=seen.get("location"),
        merchant_category_seen=seen.get("merchant_category"),
        payment_method_seen=seen.get("payment_method"),
        device_seen=seen.get("device_id"),
        merchant_seen=seen.get("merchant_id"),
        hour_seen=hour_seen,
        seconds_since_last=since_last,
        windows=windows,
        new_value_counts=new_counts,
        new_places_10m=new_10m,
        new_places_1h=new_1h,
        hour=hour,
        tx=tx,
        merchant=merchant,
        card_frauds=card_frauds(profile, tx.timestamp),
    )


def new_value_count(profile: Profile, name: str) -> int:
    """How many of the user's transactions showed a value of ``name`` new to them.

    (count + 1) / (history + 2) then estimates the chance of a new value: the
    user's own rate, whole history long. Good-Turing's count of values seen
    once would fall faster as habits settle, but a capped field forgets
    values and so undercounts; and on the handbook's data the plain rate
    ranked better (docs/detection.md).
    """
    return int(profile["misses"][name])


def _new_places(known: dict[str, int], visits: dict[str, int], location: str | None) -> int:
    """Distinct places among ``visits`` and ``location``, those known before the window as one.

    A place is new when all the user's visits to it are in the window (the
    profile has learnt them, so it counts them too). Moving among one's own
    usual places is not velocity across places.
    """
    new = 0
    familiar = False
    for place, count in visits.items():
        if known.get(place, 0) <= count:
            new += 1
        else:
            familiar = True
    if location is not None and location not in visits:
        if known.get(location, 0) == 0:
            new += 1
        else:
            familiar = True
    return new + familiar


def _seen(counts: dict[str, int], value: str | None) -> int | None:
    """How often the user used ``value`` before; None when the transaction lacks it."""
    return None if value is None else counts.get(value, 0)

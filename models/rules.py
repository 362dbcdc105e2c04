"""Rules: named, explainable checks with configurable thresholds.

Each rule reads an :class:`~models.features.Observation` and, when it fires,
contributes a reason code to the alert. Rules about a user's habits wait
until the user has enough history (``min_history``), so a newcomer's first
purchases are not all "new location".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final, Literal

from models.features import Observation
from models.velocity import SMALL_AMOUNT

ReasonCode = Literal[
    "HIGH_AMOUNT",
    "AMOUNT_ZSCORE",
    "NEW_LOCATION",
    "NEW_MERCHANT_CATEGORY",
    "NEW_PAYMENT_METHOD",
    "NEW_DEVICE",
    "UNUSUAL_HOUR",
    "VELOCITY_BURST",
    "VELOCITY_MULTI_LOCATION",
    "CARD_TESTING",
]

REASON_CODES: Final[tuple[ReasonCode, ...]] = ReasonCode.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RuleThresholds:
    """When each rule fires. Every field can be set as ``TXWATCH_RULE_<NAME>``."""

    min_history: int = 5
    high_amount: float = 5000.0
    high_amount_multiple: float = 10.0
    amount_zscore: float = 3.5
    burst_count_1m: int = 3
    burst_count_10m: int = 6
    multi_location_10m: int = 2
    multi_location_1h: int = 3
    card_testing_small_10m: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RuleThresholds:
        """Thresholds with ``TXWATCH_RULE_<FIELD>`` overrides; ValueError names a bad one."""
        values = {}
        for field in fields(cls):
            raw = env.get(f"TXWATCH_RULE_{field.name.upper()}")
            if raw is None or raw == "":
                continue
            kind = int if field.type in (int, "int") else float
            try:
                values[field.name] = kind(raw)
            except ValueError:
                raise ValueError(
                    f"TXWATCH_RULE_{field.name.upper()}={raw!r} is not a {kind.__name__}"
                ) from None
        return cls(**values)


def evaluate_rules(obs: Observation, thresholds: RuleThresholds) -> list[ReasonCode]:
    """The reason codes of every rule ``obs`` triggers, in :data:`REASON_CODES` order."""
    reasons: list[ReasonCode] = []
    known_user = obs.history >= thresholds.min_history
    if obs.amount >= thresholds.high_amount or (
        known_user and obs.amount >= thresholds.high_amount_multiple * obs.typical_amount
    ):
        reasons.append("HIGH_AMOUNT")
    if known_user and obs.amount_zscore >= thresholds.amount_zscore:
        reasons.append("AMOUNT_ZSCORE")
    if known_user:
        if obs.location_seen == 0:
            reasons.append("NEW_LOCATION")
        if obs.merchant_category_seen == 0:
            reasons.append("NEW_MERCHANT_CATEGORY")
        if obs.payment_method_seen == 0:
            reasons.append("NEW_PAYMENT_METHOD")
        if obs.device_seen == 0:
            reasons.append("NEW_DEVICE")
        if obs.hour_seen == 0:  # not within an hour of any earlier transaction
            reasons.append("UNUSUAL_HOUR")
    w = obs.windows
    # Counts include the transaction itself: the third within a minute fires.
    if w.count_1m + 1 >= thresholds.burst_count_1m or w.count_10m + 1 >= thresholds.burst_count_10m:
        reasons.append("VELOCITY_BURST")
    # Places new to the user; their usual places count as one (see features._new_places).
    if (
        obs.new_places_10m >= thresholds.multi_location_10m
        or obs.new_places_1h >= thresholds.multi_location_1h
    ):
        reasons.append("VELOCITY_MULTI_LOCATION")
    if w.small_10m + (obs.amount <= SMALL_AMOUNT) >= thresholds.card_testing_small_10m:
        reasons.append("CARD_TESTING")
    return reasons

"""Combining the model and the rules into one risk score, level and recommendation.

The Isolation Forest's raw score is first calibrated against the scores of
its own training data (a percentile), so that "model risk" means the same
thing whatever the model's version: how rare this transaction would have
been in training. Rules add their weights on top, as independent evidence:

    risk = 100 * (1 - (1 - model_weight * model_risk) * prod(1 - rule_weight))
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final, Literal

from models.rules import ReasonCode

RiskLevel = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
Recommendation = Literal["APPROVE", "REVIEW", "DECLINE"]
RISK_LEVELS: Final[tuple[RiskLevel, ...]] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")

DEFAULT_RULE_WEIGHTS: Final[dict[ReasonCode, float]] = {
    "HIGH_AMOUNT": 0.6,
    "AMOUNT_ZSCORE": 0.45,
    "NEW_LOCATION": 0.45,
    "NEW_MERCHANT_CATEGORY": 0.35,
    "NEW_PAYMENT_METHOD": 0.45,
    "NEW_DEVICE": 0.25,
    "UNUSUAL_HOUR": 0.35,
    "VELOCITY_BURST": 0.6,
    "VELOCITY_MULTI_LOCATION": 0.6,
    "CARD_TESTING": 0.7,
}
#: Rules about a user's habits: their weight grows with the user's history.
HABIT_RULES: Final[frozenset[ReasonCode]] = frozenset(
    {
        "AMOUNT_ZSCORE",
        "NEW_LOCATION",
        "NEW_MERCHANT_CATEGORY",
        "NEW_PAYMENT_METHOD",
        "NEW_DEVICE",
        "UNUSUAL_HOUR",
    }
)


@dataclass(frozen=True)
class RiskPolicy:
    """How model and rules add up, and where the levels start (scores 0-100)."""

    rule_weights: dict[ReasonCode, float] = field(
        default_factory=lambda: dict(DEFAULT_RULE_WEIGHTS)
    )
    model_weight: float = 0.9
    #: Training percentile below which the model adds nothing.
    model_floor: float = 0.98
    medium_at: float = 20.0
    high_at: float = 40.0
    critical_at: float = 70.0
    #: The lowest level that raises an alert.
    alert_level: RiskLevel = "HIGH"

    def level(self, risk_score: float) -> RiskLevel:
        """The level a risk score falls in."""
        if risk_score >= self.critical_at:
            return "CRITICAL"
        if risk_score >= self.high_at:
            return "HIGH"
        if risk_score >= self.medium_at:
            return "MEDIUM"
        return "LOW"

    def is_alert(self, level: RiskLevel) -> bool:
        """True when ``level`` is at or above the alert level."""
        return RISK_LEVELS.index(level) >= RISK_LEVELS.index(self.alert_level)


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Assessment:
    """The verdict on one transaction."""

    risk_score: float
    risk_level: RiskLevel
    recommendation: Recommendation
    reasons: list[ReasonCode]
    model_score: float | None
    model_percentile: float | None
    alert: bool


class Calibration:
    """Maps a raw model score to its percentile among the training scores.

    >>> Calibration([0.0, 0.25, 0.5, 0.75, 1.0]).percentile(0.625)
    0.625
    """

    __slots__ = ("_quantiles",)

    def __init__(self, quantiles: Sequence[float]) -> None:
        if len(quantiles) < 2 or any(b < a for a, b in pairwise(quantiles)):
            raise ValueError("calibration needs at least two ascending quantiles")
        self._quantiles = [float(q) for q in quantiles]

    @property
    def quantiles(self) -> list[float]:
        """The training scores' quantiles, evenly spaced from 0 to 1."""
        return list(self._quantiles)

    def percentile(self, score: float) -> float:
        """Fraction of training scores below ``score``, interpolated, in [0, 1]."""
        q = self._quantiles
        i = bisect.bisect_right(q, score)
        if i == 0:
            return 0.0
        if i == len(q):
            return 1.0
        lo, hi = q[i - 1], q[i]
        fraction = (score - lo) / (hi - lo) if hi > lo else 0.0
        return (i - 1 + fraction) / (len(q) - 1)


def assess(
    reasons: list[ReasonCode],
    model_score: float | None,
    calibration: Calibration | None,
    policy: RiskPolicy,
    habit_confidence: float = 1.0,
) -> Assessment:
    """Risk score, level and recommendation from the rules that fired and the model's score.

    Habit rules count in proportion to ``habit_confidence`` (0-1, how well
    the user's habits are known). Without a model (``model_score`` None) the
    rules alone decide.
    """
    keep = 1.0
    for reason in reasons:
        weight = policy.rule_weights.get(reason, 0.0)
        if reason in HABIT_RULES:
            weight *= habit_confidence
        keep *= 1.0 - weight
    percentile = None
    if model_score is not None and calibration is not None:
        percentile = calibration.percentile(model_score)
        model_risk = max(0.0, (percentile - policy.model_floor) / (1.0 - policy.model_floor))
        keep *= 1.0 - policy.model_weight * model_risk
    risk_score = round(100.0 * (1.0 - keep), 1)
    level = policy.level(risk_score)
    recommendation: Recommendation = (
        "DECLINE" if level == "CRITICAL" else "REVIEW" if level == "HIGH" else "APPROVE"
    )
    return Assessment(
        risk_score=risk_score,
        risk_level=level,
        recommendation=recommendation,
        reasons=reasons,
        model_score=model_score,
        model_percentile=percentile,
        alert=policy.is_alert(level),
    )

"""Turning evidence into one risk score, level and recommendation.

Every signal (:mod:`models.signals`) and the Isolation Forest give their
evidence in nats, ``-log`` of how rare what they see is; the evidence of a
transaction is their sum ``S``. The risk score maps it onto 0-100:

    risk = 100 * (1 - exp(-S / scale))

continuous for every transaction and monotone in the evidence, so it ranks.
``scale`` comes from training (:class:`EvidenceScale`): the evidence of the
top 1% of training traffic maps to the HIGH level (40). The forest's own
evidence is its score's percentile among the training scores, ``-log(1 -
percentile)``, counted at :data:`MODEL_WEIGHT`.

An alert is raised at or above a level (HIGH by default) or, with an alert
budget, for the evidence that only that share of training traffic reached.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final, Literal

from models.rules import ReasonCode

RiskLevel = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
Recommendation = Literal["APPROVE", "REVIEW", "DECLINE"]
RISK_LEVELS: Final[tuple[RiskLevel, ...]] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")

#: How much the forest's evidence counts beside the signals'. It sees every feature at
#: once but both ways (a very small amount is as isolated as a very large one), so
#: it counts half; measured in docs/detection.md.
MODEL_WEIGHT: Final = 0.5
#: The tail shares at which training records its evidence (for the scale and budgets).
TAIL_SHARES: Final = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001)
#: The share of traffic whose evidence maps to the HIGH level.
HIGH_SHARE: Final = 0.01
#: Evidence of the top 1% when no training measured it: a velocity rule's default.
DEFAULT_HIGH_NATS: Final = 5.0


@dataclass(frozen=True)
class RiskPolicy:
    """Where the levels start (risk scores 0-100) and what raises an alert."""

    medium_at: float = 20.0
    high_at: float = 40.0
    critical_at: float = 70.0
    #: The lowest level that raises an alert.
    alert_level: RiskLevel = "HIGH"
    #: When set, the share of traffic to alert on instead of a level (0.0001-0.5).
    alert_budget: float | None = None

    def __post_init__(self) -> None:
        if self.alert_budget is not None and not (
            TAIL_SHARES[-1] <= self.alert_budget <= TAIL_SHARES[0]
        ):
            raise ValueError(
                f"alert budget {self.alert_budget!r}: need a share of traffic from "
                f"{TAIL_SHARES[-1]} to {TAIL_SHARES[0]}"
            )

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
    #: The total evidence in nats, and each signal's part of it (the nonzero ones).
    evidence: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)


class EvidenceScale:
    """Training's evidence at each tail share: the risk scale and alert budgets.

    >>> scale = EvidenceScale([(0.01, 6.0), (0.001, 9.0)])
    >>> round(scale.risk(6.0), 1), scale.nats_for_share(0.003) > 6.0
    (40.0, True)
    """

    __slots__ = ("_tails", "scale")

    def __init__(self, tails: Sequence[tuple[float, float]] = ()) -> None:
        points = sorted(((float(s), float(n)) for s, n in tails), reverse=True)
        if any(not 0 < s < 1 for s, _ in points) or any(b[1] < a[1] for a, b in pairwise(points)):
            raise ValueError(
                "evidence tails need shares in (0, 1) and evidence growing with rarity"
            )
        self._tails = points
        high = self.nats_for_share(HIGH_SHARE) if points else DEFAULT_HIGH_NATS
        # exp(-high / scale) = 0.6: the top 1% starts at risk 40.
        self.scale = max(high, 1e-6) / -math.log(0.6)

    @property
    def tails(self) -> list[tuple[float, float]]:
        """(share of training traffic, evidence it reached), commonest first."""
        return list(self._tails)

    def risk(self, nats: float) -> float:
        """The risk score (0-100) of ``nats`` of evidence."""
        return 100.0 * (1.0 - math.exp(-nats / self.scale))

    def nats_for_share(self, share: float) -> float:
        """The evidence only ``share`` of training traffic reached (log-interpolated)."""
        points = self._tails
        if not points:
            # No training: the default scale, extended as if evidence were exact nats.
            return DEFAULT_HIGH_NATS + math.log(HIGH_SHARE / share)
        shares = [-math.log(s) for s, _ in points]
        x = -math.log(share)
        i = bisect.bisect_left(shares, x)
        if i == 0:
            return points[0][1]
        if i == len(points):
            return points[-1][1] + (x - shares[-1])  # rarer than measured: a nat per e-fold
        (x0, (_, y0)), (x1, (_, y1)) = (shares[i - 1], points[i - 1]), (shares[i], points[i])
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


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
    def resolution(self) -> float:
        """The smallest share of training scores the quantiles tell apart."""
        return 1.0 / (len(self._quantiles) - 1)

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
    signals: dict[str, float],
    reasons: list[ReasonCode],
    model_score: float | None,
    calibration: Calibration | None,
    policy: RiskPolicy,
    scale: EvidenceScale,
    weights: Mapping[str, float] | None = None,
) -> Assessment:
    """Risk score, level and recommendation from the signals' evidence and the model's score.

    Without a model (``model_score`` None) the signals alone decide. With
    ``weights`` (learnt from labels, :mod:`models.weights`) each signal's nats
    count that many times; without, once, and the forest's :data:`MODEL_WEIGHT`.
    """
    if weights is None:
        kept = dict(signals)  # signal_nats gives only signals above 0; callers may give zeros
        model_weight = MODEL_WEIGHT
    else:
        kept = {name: nats * weights.get(name, 1.0) for name, nats in signals.items()}
        model_weight = weights.get("model", MODEL_WEIGHT)
    for name in [name for name, nats in kept.items() if nats <= 0.0]:
        del kept[name]
    percentile = None
    if model_score is not None and calibration is not None:
        percentile = calibration.percentile(model_score)
        nats = model_weight * -math.log(max(1.0 - percentile, calibration.resolution))
        if nats > 0.0:
            kept["model"] = nats
    evidence = sum(kept.values())
    risk_score = round(scale.risk(evidence), 1)
    level = policy.level(risk_score)
    recommendation: Recommendation = (
        "DECLINE" if level == "CRITICAL" else "REVIEW" if level == "HIGH" else "APPROVE"
    )
    if policy.alert_budget is None:
        alert = policy.is_alert(level)
    else:
        alert = evidence >= scale.nats_for_share(policy.alert_budget)
    return Assessment(
        risk_score=risk_score,
        risk_level=level,
        recommendation=recommendation,
        reasons=reasons,
        model_score=model_score,
        model_percentile=percentile,
        alert=alert,
        evidence=evidence,
        signals=kept,
    )

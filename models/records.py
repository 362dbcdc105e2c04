"""The ``scores`` and ``alerts`` messages.

A score is the transaction's own fields plus the verdict; an alert is a
score that crossed the alert level, with an explanation of the model's part.
Both are plain JSON objects, documented in the README.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from models.detector import Verdict
from models.risk import Recommendation, RiskLevel
from models.rules import ReasonCode
from models.transaction import Transaction, format_timestamp


class Source(TypedDict):
    """Where the transaction was read from."""

    partition: int
    offset: int


class FeatureShare(TypedDict):
    """One feature's part in isolating a transaction (see ``CompiledForest.contributions``)."""

    feature: str
    value: float
    share: float


class Score(TypedDict):
    """A ``scores`` message: the transaction's own fields (as in the contract) plus these."""

    transaction_id: str
    user_id: str
    amount: float
    timestamp: str
    risk_score: float
    risk_level: RiskLevel
    recommendation: Recommendation
    reasons: list[ReasonCode]
    model_score: float | None
    model_percentile: float | None
    model_version: str | None
    is_alert: bool
    detected_at: str
    features: dict[str, float]
    #: The total evidence in nats, and each signal's part (see models.signals).
    evidence: float
    signals: dict[str, float]
    source: NotRequired[Source]


class Alert(Score):
    """An ``alerts`` message: a score at or above the alert level, explained."""

    explanation: NotRequired[list[FeatureShare]]


def score_record(
    tx: Transaction,
    verdict: Verdict,
    *,
    model_version: str | None,
    detected_at: float,
    partition: int | None = None,
    offset: int | None = None,
    explanation: list[dict[str, Any]] | None = None,
) -> Score | Alert:
    """The ``scores`` message for ``tx``; with ``explanation`` it is also the ``alerts`` message.

    Without ``partition`` (a score on request, not read from Kafka) it has no ``source``.
    """
    a = verdict.assessment
    record: Any = tx.to_dict()
    record.update(
        risk_score=a.risk_score,
        risk_level=a.risk_level,
        recommendation=a.recommendation,
        reasons=a.reasons,
        model_score=a.model_score,
        model_percentile=a.model_percentile,
        model_version=model_version,
        is_alert=a.alert,
        detected_at=format_timestamp(detected_at),
        features=verdict.features_by_name(),
        evidence=round(a.evidence, 3),
        signals={name: round(nats, 3) for name, nats in a.signals.items()},
    )
    if partition is not None and offset is not None:
        record["source"] = {"partition": partition, "offset": offset}
    if explanation is not None:
        record["explanation"] = explanation
    return record

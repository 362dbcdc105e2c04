"""The ``scores`` and ``alerts`` messages.

A score is the transaction's own fields plus the verdict; an alert is a
score that crossed the alert level, with an explanation of the model's part.
Both are plain JSON objects, documented in the README.
"""

from __future__ import annotations

from typing import Any

from models.detector import Verdict
from models.transaction import Transaction, format_timestamp


def score_record(
    tx: Transaction,
    verdict: Verdict,
    *,
    model_version: str | None,
    detected_at: float,
    partition: int,
    offset: int,
    explanation: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``scores`` message for ``tx``; with ``explanation`` it is also the ``alerts`` message."""
    a = verdict.assessment
    record = tx.to_dict()
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
        source={"partition": partition, "offset": offset},
    )
    if explanation is not None:
        record["explanation"] = explanation
    return record

"""Detection quality: how well risk scores and alerts match the ground truth.

Only transactions with a ``label`` count; the rest are reported as unlabelled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """One scored transaction as the evaluation sees it."""

    label: int | None
    kind: str | None
    risk_score: float
    alert: bool


@dataclass
class Evaluation:
    """Quality figures over a set of outcomes."""

    transactions: int = 0
    unlabelled: int = 0
    positives: int = 0
    alerts: int = 0
    roc_auc: float | None = None
    pr_auc: float | None = None
    precision: float | None = None
    recall: float | None = None
    alert_rate: float | None = None
    recall_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return dict(self.__dict__)

    def lines(self) -> list[str]:
        """The figures as aligned text lines for a terminal."""
        pct, num = percent_text, figure_text

        out = [
            f"transactions     {self.transactions} ({self.unlabelled} unlabelled)",
            f"anomalies        {self.positives}",
            f"alerts           {self.alerts}  (alert rate {pct(self.alert_rate)})",
            f"ROC-AUC          {num(self.roc_auc)}",
            f"PR-AUC           {num(self.pr_auc)}",
            f"precision        {pct(self.precision)}  at the alert threshold",
            f"recall           {pct(self.recall)}  at the alert threshold",
        ]
        if self.recall_by_kind:
            out.append("recall by kind:")
            out += recall_by_kind_lines(self.recall_by_kind)
        return out


def percent_text(x: float | None) -> str:
    """A share as a percentage with two decimals, ``n/a`` when unknown."""
    return "n/a" if x is None else f"{100 * x:.2f}%"


def figure_text(x: float | None) -> str:
    """A figure with four decimals, ``n/a`` when unknown."""
    return "n/a" if x is None else f"{x:.4f}"


def recall_by_kind_lines(by_kind: dict[str, dict[str, float]]) -> list[str]:
    """One aligned line per kind: recall, then caught / total."""
    return [
        f"  {kind:<28} {percent_text(figures['recall']):>8}"
        f"  ({int(figures['caught'])}/{int(figures['total'])})"
        for kind, figures in sorted(by_kind.items())
    ]


def evaluate(outcomes: Iterable[Outcome]) -> Evaluation:
    """ROC-AUC and PR-AUC of the risk score, precision/recall/alert rate of the alerts."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    result = Evaluation()
    labels: list[int] = []
    scores: list[float] = []
    alerts: list[bool] = []
    totals: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    for outcome in outcomes:
        result.transactions += 1
        result.alerts += outcome.alert
        if outcome.label is None:
            result.unlabelled += 1
            continue
        labels.append(outcome.label)
        scores.append(outcome.risk_score)
        alerts.append(outcome.alert)
        if outcome.label == 1:
            kind = outcome.kind or "unknown"
            totals[kind] += 1
            caught[kind] += outcome.alert
    if result.transactions:
        result.alert_rate = result.alerts / result.transactions
    if not labels:
        return result
    y = np.asarray(labels)
    s = np.asarray(scores)
    flagged = np.asarray(alerts)
    result.positives = int(y.sum())
    if 0 < result.positives < len(y):
        result.roc_auc = float(roc_auc_score(y, s))
        result.pr_auc = float(average_precision_score(y, s))
    if flagged.any():
        result.precision = float(y[flagged].mean())
    if result.positives:
        result.recall = float(flagged[y == 1].mean())
    result.recall_by_kind = {
        kind: {"recall": caught[kind] / total, "caught": caught[kind], "total": total}
        for kind, total in totals.items()
    }
    return result


def outcome_from_record(record: dict[str, Any]) -> Outcome:
    """An :class:`Outcome` from a ``scores`` message (see :mod:`models.records`)."""
    return Outcome(
        label=record.get("label"),
        kind=record.get("anomaly_kind"),
        risk_score=float(record["risk_score"]),
        alert=bool(record["is_alert"]),
    )

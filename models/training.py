"""Training the shared Isolation Forest.

Training data go through the same per-user state and the same feature
function as live traffic (invariant 7), by way of :func:`models.history.walk`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from models.artifact import ModelArtifact
from models.features import FEATURE_NAMES, observe
from models.feedback import LabelFeedback
from models.forest import CompiledForest
from models.history import walk
from models.risk import TAIL_SHARES, Calibration, EvidenceScale
from models.rules import RuleThresholds, evaluate_rules
from models.signals import EvidenceInputs, fit_population, signal_nats
from models.signals import evidence_inputs as inputs_of
from models.transaction import Transaction
from models.weights import DEFAULT_WEIGHTS, fit_weights

#: Calibration keeps this many evenly spaced quantiles of the training scores.
CALIBRATION_POINTS = 1001


@dataclass(frozen=True)
class TrainingData:
    """Feature rows with what is known of them (labels are -1 where unknown)."""

    features: np.ndarray
    labels: np.ndarray
    kinds: list[str | None]
    users: int
    #: What the signals need of each row (for the population statistics).
    evidence_inputs: list[EvidenceInputs]
    #: Whether labels reached users' state as the rows were made (models.user_labels).
    labels_fed: bool = False


def replay_features(
    transactions: Iterable[Transaction],
    progress: Callable[[int], None] | None = None,
    thresholds: RuleThresholds | None = None,
    feedback_days: float | None = None,
    known_at: Mapping[str, float] | None = None,
) -> TrainingData:
    """Features of each transaction given the ones before it, as the live agent computes them.

    With ``feedback_days``, each fraud's label reaches its merchant's record
    that many days after it (:mod:`models.feedback`), as it would live; with
    ``known_at``, each fraud listed there reaches it when its label says it
    became known (the others after ``feedback_days``, 7 if not given).
    """
    thresholds = thresholds or RuleThresholds()
    feedback = None
    if feedback_days is not None or known_at is not None:
        delay = (7.0 if feedback_days is None else feedback_days) * 86_400.0
        feedback = LabelFeedback(delay, known_at)
    evidence: list[EvidenceInputs] = []
    rows: list[list[float]] = []
    labels: list[int] = []
    kinds: list[str | None] = []
    users: set[str] = set()
    labels_due = None if feedback is None else feedback.user_labels_due
    for offset, (tx, profile, velocity) in enumerate(walk(transactions, labels_due)):
        if feedback is None:
            obs = observe(tx, profile, velocity)
        else:
            obs = observe(tx, profile, velocity, feedback.view(tx))
            feedback.learn(tx, offset)
        rows.append(obs.vector())
        evidence.append(inputs_of(obs, evaluate_rules(obs, thresholds)))
        labels.append(-1 if tx.label is None else tx.label)
        kinds.append(tx.anomaly_kind)
        users.add(tx.user_id)
        if progress is not None and len(rows) % 10_000 == 0:
            progress(len(rows))
    features = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))
    return TrainingData(features, np.asarray(labels, dtype=np.int8), kinds, len(users), evidence,
                        labels_fed=feedback is not None)  # fmt: skip


def train_model(
    data: TrainingData,
    *,
    n_estimators: int = 100,
    max_samples: int = 256,
    seed: int = 42,
    source: str = "",
    learn_weights: bool = True,
) -> ModelArtifact:
    """Fit PyOD's IForest on ``data`` and compile it into a versioned artifact.

    With enough labelled rows (and ``learn_weights``), also the weight of each
    signal's evidence (:mod:`models.weights`); else every signal counts once.
    """
    if len(data.features) < max_samples:
        raise ValueError(
            f"{len(data.features)} training rows: need at least max_samples={max_samples}"
        )
    from pyod.models.iforest import IForest  # heavy: only the train command needs it

    detector = IForest(n_estimators=n_estimators, max_samples=max_samples, random_state=seed)
    detector.fit(data.features)
    forest = CompiledForest.from_sklearn(detector.detector_)
    scores = forest.score_many(data.features)
    quantiles = np.quantile(scores, np.linspace(0.0, 1.0, CALIBRATION_POINTS))
    calibration = Calibration(quantiles.tolist())
    known = data.labels >= 0
    fraud_rate = float(data.labels[known].mean()) if known.any() else None
    population = fit_population(
        data.evidence_inputs, fraud_rate=fraud_rate, labels_fed=data.labels_fed
    )
    rows = []
    for inputs, score in zip(data.evidence_inputs, scores.tolist(), strict=True):
        nats = signal_nats(inputs, population)
        nats["model"] = -np.log(max(1.0 - calibration.percentile(score), calibration.resolution))
        rows.append(nats)
    weights = None
    if learn_weights and known.any():
        try:
            weights = fit_weights([rows[i] for i in np.flatnonzero(known)], data.labels[known])
        except ValueError:
            weights = None  # too few labels: unsupervised
    applied = weights or DEFAULT_WEIGHTS
    evidence = np.asarray(
        [sum(applied.get(name, 1.0) * value for name, value in row.items()) for row in rows]
    )
    tails = [(share, float(np.quantile(evidence, 1.0 - share))) for share in TAIL_SHARES]
    trained_at = time.time()
    digest = hashlib.sha256()
    for name, array in sorted(forest.to_arrays().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    version = (
        time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(trained_at)) + "-" + digest.hexdigest()[:8]
    )
    known = data.labels >= 0
    metadata = {
        "params": {"n_estimators": n_estimators, "max_samples": max_samples, "seed": seed},
        "source": source,
        "training": {
            "rows": len(data.features),
            "users": data.users,
            "labelled_rows": int(known.sum()),
            "anomaly_rate": float(data.labels[known].mean()) if known.any() else None,
            "score_p50": float(np.quantile(scores, 0.5)),
            "score_p99": float(np.quantile(scores, 0.99)),
        },
        "feature_stats": {
            name: {
                "mean": float(column.mean()),
                "std": float(column.std()),
                "p01": float(np.quantile(column, 0.01)),
                "p99": float(np.quantile(column, 0.99)),
            }
            for name, column in zip(FEATURE_NAMES, data.features.T, strict=True)
        },
    }
    return ModelArtifact(
        version=version,
        trained_at=trained_at,
        feature_names=FEATURE_NAMES,
        forest=forest,
        calibration=calibration,
        metadata=metadata,
        population=population,
        evidence_scale=EvidenceScale(tails),
        signal_weights=weights,
    )

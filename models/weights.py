"""Learning from labelled history how much each signal's evidence is worth.

Unsupervised, every signal's nats count once and the forest's half
(:mod:`models.risk`). With labels, a logistic regression on the nats learns
the weights: the risk then ranks as the regression's log-odds do. Why this
model: the evidence is already in log-odds units, so a weight says how many
nats of odds a nat of each signal is worth and stays readable per signal;
it needs few positives; and it scores with a dot product, no scikit-learn
call per event. Weights are kept non-negative (a signal's rarity never
argues for a transaction) and drawn towards the unsupervised ones, so a
signal the labels say little about keeps its default.

>>> rows = [{"amount_above_usual": float(i % 7), "new_device": float(i % 3)} for i in range(400)]
>>> labels = [int(r["amount_above_usual"] >= 5) for r in rows]  # only the amount matters
>>> w = fit_weights(rows, labels)
>>> w["amount_above_usual"] > 1.0 > w["new_device"]
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from models.risk import MODEL_WEIGHT
from models.signals import SIGNAL_NAMES

#: What is weighed: every signal and the forest ("model").
WEIGHED: Final = (*SIGNAL_NAMES, "model")
#: The weights without labels.
DEFAULT_WEIGHTS: Final = {name: (MODEL_WEIGHT if name == "model" else 1.0) for name in WEIGHED}
#: Labelled rows of each class needed before weights are learnt.
MIN_EACH_CLASS: Final = 20
#: Pull towards the default weights, per labelled row (an L2 penalty).
PRIOR_STRENGTH: Final = 1.0


def fit_weights(rows: Sequence[Mapping[str, float]], labels: Sequence[int]) -> dict[str, float]:
    """Non-negative weights per signal from rows of nats and their labels (1 fraud, 0 not).

    Raises ValueError with fewer than :data:`MIN_EACH_CLASS` rows of either class.
    """
    from scipy.optimize import minimize  # only training needs it

    y = np.asarray(labels, dtype=np.float64)
    frauds = int(y.sum())
    if frauds < MIN_EACH_CLASS or len(y) - frauds < MIN_EACH_CLASS:
        raise ValueError(
            f"{frauds} frauds and {len(y) - frauds} genuine labelled rows: "
            f"need {MIN_EACH_CLASS} of each to learn weights"
        )
    X = np.asarray([[row.get(name, 0.0) for name in WEIGHED] for row in rows], dtype=np.float64)
    prior = np.asarray([DEFAULT_WEIGHTS[name] for name in WEIGHED])
    # Balanced classes, so that 0.5% fraud still moves the weights.
    sample = np.where(y == 1, 0.5 / frauds, 0.5 / (len(y) - frauds))
    strength = PRIOR_STRENGTH / len(y)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = X @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        # log(1 + e^z) - y z, written to stay finite for large |z|
        value = float(np.sum(sample * (np.logaddexp(0.0, z) - y * z)))
        value += strength * float(np.sum((w - prior) ** 2))
        residual = sample * (p - y)
        grad_w = X.T @ residual + 2 * strength * (w - prior)
        return value, np.append(grad_w, residual.sum())

    start = np.append(prior, -float(np.mean(X @ prior)))
    bounds = [(0.0, None)] * len(WEIGHED) + [(None, None)]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return {name: round(float(w), 6) for name, w in zip(WEIGHED, result.x[:-1], strict=True)}

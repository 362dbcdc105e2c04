"""The prior systems' approach, kept to measure txwatch against it.

One global Isolation Forest (PyOD, 100 trees, contamination 5%) on each
transaction's raw fields: normalised amount, hour of day as a point on a
circle, one-hot location, merchant category and payment method. No user
context, no history. Offline only: it is a yardstick, not a detector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from models.evaluation import Outcome
from models.profile import hour_of_day
from models.transaction import Transaction

CATEGORICAL = ("location", "merchant_category", "payment_method")


class RawFieldEncoder:
    """Turns transactions into the baseline's feature rows; vocabularies come from training."""

    def __init__(self, train: Sequence[Transaction]) -> None:
        self.vocab = {
            name: sorted({getattr(tx, name) or "" for tx in train}) for name in CATEGORICAL
        }
        amounts = np.asarray([tx.amount for tx in train])
        self.mean, self.std = float(amounts.mean()), float(amounts.std() or 1.0)

    def encode(self, transactions: Sequence[Transaction]) -> np.ndarray:
        """One row per transaction: amount z, hour sin/cos, then the one-hot columns."""
        width = 3 + sum(len(v) for v in self.vocab.values())
        rows = np.zeros((len(transactions), width))
        index = {
            name: {value: i for i, value in enumerate(values)}
            for name, values in self.vocab.items()
        }
        for r, tx in enumerate(transactions):
            angle = 2 * math.pi * hour_of_day(tx.timestamp) / 24
            rows[r, :3] = ((tx.amount - self.mean) / self.std, math.sin(angle), math.cos(angle))
            start = 3
            for name in CATEGORICAL:
                column = index[name].get(getattr(tx, name) or "")
                if column is not None:
                    rows[r, start + column] = 1.0
                start += len(self.vocab[name])
        return rows


def baseline_outcomes(
    train: Sequence[Transaction], test: Sequence[Transaction], seed: int = 42
) -> list[Outcome]:
    """Fit the prior systems' model on ``train`` and score ``test`` with it."""
    from pyod.models.iforest import IForest

    encoder = RawFieldEncoder(train)
    model = IForest(n_estimators=100, contamination=0.05, random_state=seed)
    model.fit(encoder.encode(train))
    x_test = encoder.encode(test)
    scores = model.decision_function(x_test)
    flagged = model.predict(x_test)
    return [
        Outcome(label=tx.label, kind=tx.anomaly_kind, risk_score=float(s), alert=bool(f))
        for tx, s, f in zip(test, scores, flagged, strict=True)
    ]

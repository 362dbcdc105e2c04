"""The model artifact: one versioned file every worker loads at start.

A single ``.npz`` file (numpy's zip of arrays, read without pickle) holding
the compiled forest's arrays, the calibration quantiles and a JSON metadata
document: version, training time, feature names, parameters, training
statistics. Writing goes through a temporary file and a rename, so a worker
never loads half a model.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.forest import CompiledForest
from models.risk import Calibration, EvidenceScale
from models.signals import Population

FORMAT = "txwatch-model/2"  # 2: population statistics and evidence tails


class ModelArtifactError(ValueError):
    """The model file is missing, unreadable or does not fit this code: retrain or fix the path."""


@dataclass(frozen=True)
class ModelArtifact:
    """A trained model ready to score: forest, calibration and what it was trained on."""

    version: str
    trained_at: float
    feature_names: tuple[str, ...]
    forest: CompiledForest
    calibration: Calibration
    metadata: dict[str, Any] = field(default_factory=dict)
    population: Population = field(default_factory=Population)
    evidence_scale: EvidenceScale = field(default_factory=EvidenceScale)
    #: Each signal's weight, learnt from labels; None: unsupervised (models.weights).
    signal_weights: dict[str, float] | None = None

    def describe(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-ready (for ``GET /model`` and the ``models`` table)."""
        return {
            "version": self.version,
            "trained_at": self.trained_at,
            "feature_names": list(self.feature_names),
            "n_trees": self.forest.n_trees,
            # How the risk is made: each signal's learnt weight (None: unsupervised), and the
            # evidence training traffic reached at each tail share (the risk scale).
            "signal_weights": self.signal_weights,
            "evidence_tails": self.evidence_scale.tails,
            **self.metadata,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the artifact to ``path`` atomically; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT,
            "version": self.version,
            "trained_at": self.trained_at,
            "feature_names": list(self.feature_names),
            "metadata": self.metadata,
            "population": self.population.to_json(),
            "evidence_tails": self.evidence_scale.tails,
            "signal_weights": self.signal_weights,
        }
        arrays = {f"forest_{k}": v for k, v in self.forest.to_arrays().items()}
        arrays["calibration"] = np.asarray(self.calibration.quantiles, dtype=np.float64)
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez_compressed(out, **arrays)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelArtifact:
        """Read an artifact written by :meth:`save`; :class:`ModelArtifactError` if unusable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                forest_arrays = {
                    k.removeprefix("forest_"): data[k]
                    for k in data.files
                    if k.startswith("forest_")
                }
                quantiles = data["calibration"].tolist()
        except FileNotFoundError:
            raise ModelArtifactError(f"no model file at {path}") from None
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ModelArtifactError(f"{path} is not a txwatch model: {exc}") from None
        if header.get("format") != FORMAT:
            raise ModelArtifactError(
                f"{path}: format {header.get('format')!r}, need {FORMAT!r}: "
                "retrain it with `faust -A app train`"
            )
        try:
            return cls(
                version=header["version"],
                trained_at=header["trained_at"],
                feature_names=tuple(header["feature_names"]),
                forest=CompiledForest.from_arrays(forest_arrays),
                calibration=Calibration(quantiles),
                metadata=header.get("metadata", {}),
                population=Population.from_json(header["population"]),
                evidence_scale=EvidenceScale([tuple(t) for t in header["evidence_tails"]]),
                signal_weights=_weights(header.get("signal_weights")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelArtifactError(f"{path} is damaged: {exc}") from None


def _weights(raw: Any) -> dict[str, float] | None:
    if raw is None:
        return None
    weights = {str(name): float(value) for name, value in dict(raw).items()}
    if any(not value >= 0.0 for value in weights.values()):  # also NaN
        raise ValueError("signal weights must be numbers >= 0")
    return weights

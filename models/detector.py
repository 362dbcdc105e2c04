"""The detector: one transaction and its user's state in, a verdict out.

It ties together the pieces the agent, the training command and the
score-on-request view share: :func:`~models.features.observe`, the rules,
the compiled forest and the risk policy. Pure: it reads state, never
writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.artifact import ModelArtifact, ModelArtifactError
from models.features import FEATURE_NAMES, Observation, observe
from models.profile import Profile
from models.risk import Assessment, EvidenceScale, RiskPolicy, assess
from models.rules import RuleThresholds, evaluate_rules
from models.signals import Population, evidence_inputs, signal_nats
from models.transaction import Transaction
from models.velocity import Velocity

#: How many features an explanation names.
TOP_FEATURES = 3


@dataclass(slots=True)  # not frozen: built per event, and frozen costs twice as much
class Verdict:
    """A scored transaction: the assessment and the features it was based on."""

    assessment: Assessment
    features: list[float]

    def features_by_name(self) -> dict[str, float]:
        """The feature vector as a name -> value mapping."""
        return dict(zip(FEATURE_NAMES, self.features, strict=True))


class Detector:
    """Scores transactions with the rules and, when there is one, the shared model."""

    def __init__(
        self,
        thresholds: RuleThresholds | None = None,
        policy: RiskPolicy | None = None,
        model: ModelArtifact | None = None,
    ) -> None:
        if model is not None and tuple(model.feature_names) != FEATURE_NAMES:
            raise ModelArtifactError(
                f"model {model.version} was trained on other features "
                f"({len(model.feature_names)} named); retrain it with this version"
            )
        self.thresholds = thresholds or RuleThresholds()
        self.policy = policy or RiskPolicy()
        self.model = model
        # Without a model, the signals that need the population's view stay silent.
        self.population = model.population if model is not None else Population()
        self.scale = model.evidence_scale if model is not None else EvidenceScale()
        self.weights = model.signal_weights if model is not None else None

    @property
    def model_version(self) -> str | None:
        """The version of the model in use, or None when scoring by rules alone."""
        return self.model.version if self.model is not None else None

    def judge(self, tx: Transaction, profile: Profile | None, velocity: Velocity | None) -> Verdict:
        """Score ``tx`` against the user's state before it (the state is not changed)."""
        return self.judge_all([observe(tx, profile, velocity)])[0]

    def judge_all(self, observations: Sequence[Observation]) -> list[Verdict]:
        """Verdicts on already observed transactions, the model scoring all rows at once.

        The same verdicts as :meth:`judge` one by one: the forest's batch walk is
        exact, and batching is what makes it cheap per row.
        """
        if not observations:
            return []
        features = [obs.vector() for obs in observations]
        if self.model is None:
            model_scores: list[float | None] = [None] * len(observations)
            calibration = None
        else:
            scores = self.model.forest.score_many(np.asarray(features, dtype=np.float64))
            model_scores = [float(score) for score in scores]
            calibration = self.model.calibration
        verdicts = []
        thresholds, population, policy, scale, weights = (
            self.thresholds,
            self.population,
            self.policy,
            self.scale,
            self.weights,
        )
        for obs, row, model_score in zip(observations, features, model_scores, strict=True):
            reasons = evaluate_rules(obs, thresholds)
            nats = signal_nats(evidence_inputs(obs, reasons), population)
            assessment = assess(nats, reasons, model_score, calibration, policy, scale, weights)
            verdicts.append(Verdict(assessment, row))
        return verdicts

    def explain(self, verdict: Verdict) -> list[dict[str, Any]]:
        """The features that drove the model's score, largest share first (empty without model).

        Computed on demand (for alerts), since attribution walks every tree.
        """
        return self.explain_all([verdict])[0]

    def explain_all(self, verdicts: Sequence[Verdict]) -> list[list[dict[str, Any]]]:
        """:meth:`explain` for each verdict, the trees walked once for all of them."""
        if self.model is None or not verdicts:
            return [[] for _ in verdicts]
        rows = np.asarray([verdict.features for verdict in verdicts], dtype=np.float64)
        explanations = []
        for verdict, shares in zip(
            verdicts, self.model.forest.contributions_many(rows), strict=True
        ):
            order = np.argsort(-shares, kind="stable")[:TOP_FEATURES]
            explanations.append(
                [
                    {
                        "feature": FEATURE_NAMES[i],
                        "value": round(verdict.features[i], 4),
                        "share": round(float(shares[i]), 3),
                    }
                    for i in order
                    if shares[i] > 0
                ]
            )
        return explanations

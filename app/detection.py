"""The worker's detector: rules plus the shared model, loaded once at start."""

from __future__ import annotations

import logging
import os
from functools import cache

from app import settings
from models.artifact import ModelArtifact, ModelArtifactError
from models.detector import Detector
from models.holding import HoldPolicy
from models.risk import RiskPolicy
from models.rules import RuleThresholds

logger = logging.getLogger(__name__)


@cache
def detector() -> Detector:
    """The detector every agent and view of this worker uses.

    Without a usable model file it scores by rules alone, and says so.
    """
    thresholds = RuleThresholds.from_env(os.environ)
    policy = RiskPolicy(
        alert_level=settings.alert_level,  # type: ignore[arg-type]
        alert_budget=settings.alert_budget,
    )
    try:
        model = ModelArtifact.load(settings.model_path)
        built = Detector(thresholds, policy, model)
    except ModelArtifactError as exc:
        logger.warning("scoring by rules alone: %s (train one with `faust -A app train`)", exc)
        return Detector(thresholds, policy, None)
    logger.info("model %s loaded from %s", model.version, settings.model_path)
    if policy.alert_budget is not None:
        logger.info(
            "alerting on the top %.3g%% of traffic: evidence >= %.2f nats",
            100 * policy.alert_budget,
            built.scale.nats_for_share(policy.alert_budget),
        )
    return built


def hold_policy() -> HoldPolicy | None:
    """How long alerted transactions are held out of habits (``TXWATCH_HOLD_HOURS``)."""
    return HoldPolicy(seconds=settings.hold_hours * 3600.0) if settings.hold_hours else None

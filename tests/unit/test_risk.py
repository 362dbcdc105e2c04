import math

import pytest

from models.risk import (
    DEFAULT_HIGH_NATS,
    MODEL_WEIGHT,
    Calibration,
    EvidenceScale,
    RiskPolicy,
    assess,
)

POLICY = RiskPolicy()
DEFAULT = EvidenceScale()
CALIBRATION = Calibration([i / 100 for i in range(101)])  # percentile == score
TRAINED = EvidenceScale([(0.1, 2.0), (0.01, 6.0), (0.001, 9.0), (0.0001, 12.0)])


def test_no_evidence_is_no_risk():
    a = assess({}, [], None, None, POLICY, DEFAULT)
    assert (a.risk_score, a.risk_level, a.recommendation, a.alert) == (0.0, "LOW", "APPROVE", False)
    assert a.evidence == 0.0
    assert a.signals == {}


@pytest.mark.parametrize(
    ("nats", "risk", "level"),
    [
        (0.5, 5.0, "LOW"),  # every bit of evidence moves the score: it ranks
        (2.0, 18.5, "LOW"),
        (DEFAULT_HIGH_NATS, 40.0, "HIGH"),  # the top 1%'s evidence starts HIGH
        (12.0, 70.7, "CRITICAL"),
        (40.0, 98.3, "CRITICAL"),
    ],
)
def test_risk_grows_continuously_with_the_evidence(nats, risk, level):
    a = assess({"amount_above_usual": nats}, [], None, None, POLICY, DEFAULT)
    assert (a.risk_score, a.risk_level) == (risk, level)


def test_signals_add_up_and_silent_ones_are_left_out():
    a = assess({"new_location": 2.0, "unusual_hour": 1.5, "new_device": 0.0}, [], None, None,
               POLICY, DEFAULT)  # fmt: skip
    assert a.evidence == pytest.approx(3.5)
    assert a.signals == {"new_location": 2.0, "unusual_hour": 1.5}


@pytest.mark.parametrize(
    ("score", "model_nats"),
    [(0.0, 0.0), (0.5, MODEL_WEIGHT * math.log(2)), (0.99, MODEL_WEIGHT * math.log(100))],
)
def test_model_evidence_is_the_rarity_of_its_score(score, model_nats):
    a = assess({}, [], score, CALIBRATION, POLICY, DEFAULT)
    assert a.signals.get("model", 0.0) == pytest.approx(model_nats)
    assert a.model_percentile == pytest.approx(score)


def test_model_evidence_is_bounded_by_the_calibration():
    top = assess({}, [], 5.0, CALIBRATION, POLICY, DEFAULT)
    assert top.model_percentile == 1.0
    assert top.signals["model"] == pytest.approx(MODEL_WEIGHT * math.log(100))


def test_trained_scale_puts_the_top_percent_at_high():
    assert TRAINED.risk(6.0) == pytest.approx(40.0)
    assert TRAINED.nats_for_share(0.01) == 6.0
    assert 6.0 < TRAINED.nats_for_share(0.005) < 9.0
    assert TRAINED.nats_for_share(0.00001) == pytest.approx(12.0 + math.log(10))
    assert TRAINED.nats_for_share(0.5) == 2.0


@pytest.mark.parametrize(
    ("budget", "nats", "alert"),
    [(0.01, 6.0, True), (0.01, 5.9, False), (0.001, 8.9, False), (0.001, 9.0, True)],
)
def test_alert_budget_alerts_on_the_evidence_only_that_share_reached(budget, nats, alert):
    policy = RiskPolicy(alert_budget=budget)
    assert assess({"x": nats}, [], None, None, policy, TRAINED).alert is alert


@pytest.mark.parametrize("budget", [0.0, 0.9, -0.1])
def test_alert_budget_out_of_range_is_refused(budget):
    with pytest.raises(ValueError, match="alert budget"):
        RiskPolicy(alert_budget=budget)


def test_evidence_scale_refuses_evidence_falling_with_rarity():
    with pytest.raises(ValueError, match="growing"):
        EvidenceScale([(0.1, 5.0), (0.01, 4.0)])


def test_levels_and_alerts_follow_the_policy():
    assert POLICY.level(19.9) == "LOW"
    assert POLICY.level(20) == "MEDIUM"
    assert POLICY.level(40) == "HIGH"
    assert POLICY.level(70) == "CRITICAL"
    assert not POLICY.is_alert("MEDIUM")
    assert POLICY.is_alert("HIGH")
    assert RiskPolicy(alert_level="CRITICAL").is_alert("HIGH") is False


def test_high_level_asks_for_review():
    a = assess({"VELOCITY_MULTI_LOCATION": DEFAULT_HIGH_NATS}, [], None, None, POLICY, DEFAULT)
    assert a.risk_level == "HIGH"
    assert a.recommendation == "REVIEW"
    assert a.alert


@pytest.mark.parametrize(
    ("score", "expected"), [(-1, 0.0), (0.005, 0.25), (0.505, 0.75), (1.0, 1.0), (2.0, 1.0)]
)
def test_calibration_interpolates_and_clamps(score, expected):
    assert Calibration([0.0, 0.01, 1.0]).percentile(score) == pytest.approx(expected)


def test_calibration_refuses_unsorted_quantiles():
    with pytest.raises(ValueError, match="ascending"):
        Calibration([0.5, 0.4])

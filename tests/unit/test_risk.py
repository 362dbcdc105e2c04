import pytest

from models.risk import Calibration, RiskPolicy, assess

POLICY = RiskPolicy()
CALIBRATION = Calibration([i / 100 for i in range(101)])  # percentile == score


def test_no_evidence_is_no_risk():
    a = assess([], None, None, POLICY)
    assert (a.risk_score, a.risk_level, a.recommendation, a.alert) == (0.0, "LOW", "APPROVE", False)


def test_rules_add_up_as_independent_evidence():
    one = assess(["VELOCITY_BURST"], None, None, POLICY).risk_score
    two = assess(["VELOCITY_BURST", "CARD_TESTING"], None, None, POLICY).risk_score
    assert one == 60.0
    assert two == pytest.approx(100 * (1 - 0.4 * 0.3), abs=0.05)


def test_habit_rules_count_with_the_confidence_in_the_habits():
    known = assess(["NEW_LOCATION"], None, None, POLICY, habit_confidence=1.0).risk_score
    newcomer = assess(["NEW_LOCATION"], None, None, POLICY, habit_confidence=0.2).risk_score
    assert known == 45.0
    assert newcomer == 9.0
    # Velocity rules do not depend on the user's habits.
    assert assess(["VELOCITY_BURST"], None, None, POLICY, habit_confidence=0.0).risk_score == 60


def test_model_counts_only_above_its_floor():
    assert assess([], 0.97, CALIBRATION, POLICY).risk_score == 0.0
    top = assess([], 1.0, CALIBRATION, POLICY)
    assert top.risk_score == 90.0
    assert top.model_percentile == 1.0
    assert top.risk_level == "CRITICAL"
    assert top.recommendation == "DECLINE"


def test_levels_and_alerts_follow_the_policy():
    assert POLICY.level(19.9) == "LOW"
    assert POLICY.level(20) == "MEDIUM"
    assert POLICY.level(40) == "HIGH"
    assert POLICY.level(70) == "CRITICAL"
    assert not POLICY.is_alert("MEDIUM")
    assert POLICY.is_alert("HIGH")
    assert RiskPolicy(alert_level="CRITICAL").is_alert("HIGH") is False


def test_high_level_asks_for_review():
    a = assess(["VELOCITY_MULTI_LOCATION"], None, None, POLICY)
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

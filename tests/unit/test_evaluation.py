import pytest

from models.evaluation import Outcome, evaluate, outcome_from_record


def test_evaluate_perfect_ranking():
    outcomes = [
        Outcome(1, "card_testing", 90.0, True),
        Outcome(1, "high_amount", 80.0, True),
        Outcome(0, None, 10.0, False),
        Outcome(0, None, 5.0, False),
        Outcome(None, None, 50.0, True),
    ]
    result = evaluate(outcomes)
    assert result.transactions == 5
    assert result.unlabelled == 1
    assert result.roc_auc == 1.0
    assert result.pr_auc == 1.0
    assert result.precision == 1.0
    assert result.recall == 1.0
    assert result.alert_rate == pytest.approx(3 / 5)
    assert result.recall_by_kind["card_testing"]["recall"] == 1.0


def test_evaluate_misses_and_false_alarms():
    outcomes = [
        Outcome(1, "rapid_burst", 30.0, False),
        Outcome(1, "rapid_burst", 70.0, True),
        Outcome(0, None, 60.0, True),
        Outcome(0, None, 10.0, False),
    ]
    result = evaluate(outcomes)
    assert result.precision == 0.5
    assert result.recall == 0.5
    assert result.roc_auc == 0.75
    assert result.recall_by_kind == {"rapid_burst": {"recall": 0.5, "caught": 1, "total": 2}}
    assert any("recall" in line for line in result.lines())


def test_evaluate_without_labels_reports_what_it_can():
    result = evaluate([Outcome(None, None, 10.0, False)])
    assert result.roc_auc is None
    assert result.alert_rate == 0.0
    assert "n/a" in "\n".join(result.lines())


def test_outcome_from_score_record():
    record = {"label": 1, "anomaly_kind": "x", "risk_score": 42.5, "is_alert": True}
    assert outcome_from_record(record) == Outcome(1, "x", 42.5, True)

"""Training, the artifact file and the detector, on small simulated data."""

import numpy as np
import orjson
import pytest

from models.artifact import ModelArtifact, ModelArtifactError
from models.detector import Detector
from models.evaluation import Outcome, evaluate
from models.features import FEATURE_NAMES
from models.history import walk
from models.simulator import SimulatorConfig, simulate
from models.training import replay_features, train_model


@pytest.fixture(scope="module")
def trained():
    transactions = list(simulate(SimulatorConfig(users=100, seed=11), 5000))
    data = replay_features(transactions)
    return data, train_model(data, n_estimators=20, max_samples=128, seed=3, source="test")


def test_replay_features_gives_one_row_per_transaction(trained):
    data, _ = trained
    assert data.features.shape == (5000, len(FEATURE_NAMES))
    assert data.users == 100
    assert set(np.unique(data.labels)) <= {0, 1}


def test_training_is_deterministic_for_a_seed(trained):
    data, model = trained
    again = train_model(data, n_estimators=20, max_samples=128, seed=3)
    assert np.array_equal(
        model.forest.score_many(data.features), again.forest.score_many(data.features)
    )
    assert model.version.split("-")[1] == again.version.split("-")[1]


def test_artifact_round_trips_through_its_file(trained, tmp_path):
    data, model = trained
    path = model.save(tmp_path / "sub" / "model.npz")
    loaded = ModelArtifact.load(path)
    assert loaded.version == model.version
    assert loaded.feature_names == FEATURE_NAMES
    assert loaded.calibration.quantiles == model.calibration.quantiles
    assert loaded.describe()["training"]["rows"] == 5000
    rows = data.features[:200]
    assert np.array_equal(loaded.forest.score_many(rows), model.forest.score_many(rows))
    assert not list(tmp_path.glob("sub/.*.tmp"))


@pytest.mark.parametrize("content", [None, b"not a zip", b"PK\x03\x04broken"])
def test_artifact_load_explains_an_unusable_file(tmp_path, content):
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelArtifactError, match=str(path)):
        ModelArtifact.load(path)


def test_detector_refuses_a_model_of_other_features(trained):
    _, model = trained
    other = ModelArtifact(
        model.version, model.trained_at, ("a", "b"), model.forest, model.calibration
    )
    with pytest.raises(ModelArtifactError, match="retrain"):
        Detector(model=other)


def test_detector_scores_with_and_without_model(trained):
    _, model = trained
    transactions = list(simulate(SimulatorConfig(users=100, fraud_rate=0.05, seed=12), 3000))
    with_model, rules_only = Detector(model=model), Detector()
    assert rules_only.model_version is None
    outcomes = []
    for tx, profile, velocity in walk(transactions):
        verdict = with_model.judge(tx, profile, velocity)
        plain = rules_only.judge(tx, profile, velocity)
        assert plain.assessment.model_score is None
        assert plain.features == verdict.features
        a = verdict.assessment
        assert 0.0 <= a.risk_score <= 100.0
        if a.alert and a.model_percentile and a.model_percentile > 0.98:
            explanation = with_model.explain(verdict)
            assert explanation
            assert explanation[0]["feature"] in FEATURE_NAMES
        outcomes.append(Outcome(tx.label, tx.anomaly_kind, a.risk_score, a.alert))
    result = evaluate(outcomes)
    # Far from the README's figures (tiny model, cold users), but clearly better than chance.
    assert result.roc_auc is not None
    assert result.roc_auc > 0.8


def test_labelled_history_learns_weights_and_the_file_keeps_them(tmp_path):
    from models.simulator import SimulatorConfig, simulate
    from models.training import replay_features, train_model

    data = replay_features(list(simulate(SimulatorConfig(users=100, seed=3), 6000)))
    learnt = train_model(data, n_estimators=20)
    assert learnt.signal_weights is not None
    assert ModelArtifact.load(learnt.save(tmp_path / "m.npz")).signal_weights == (
        learnt.signal_weights
    )
    assert train_model(data, n_estimators=20, learn_weights=False).signal_weights is None


def test_describe_says_how_the_risk_is_made(trained):
    described = trained[1].describe()
    assert [share for share, _ in described["evidence_tails"]][:2] == [0.5, 0.2]
    assert "signal_weights" in described
    orjson.dumps(described)  # JSON-ready, for GET /model

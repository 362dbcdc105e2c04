from agents.reemit import KEEP_AT_MOST, recall, remember

RECORD = {"transaction_id": "t1", "amount": 5.0, "risk_score": 42.0, "is_alert": True}


def test_a_kept_verdict_is_recalled_without_the_transaction_fields():
    state: dict = {}
    remember(state, 7, RECORD, committed=None)
    assert recall(state, 7) == {"risk_score": 42.0, "is_alert": True}
    assert recall(state, 8) is None
    assert recall(None, 7) is None


def test_committed_verdicts_are_dropped_when_new_ones_come():
    state: dict = {}
    remember(state, 1, RECORD, committed=None)
    remember(state, 5, RECORD, committed=None)
    remember(state, 9, RECORD, committed=5)
    assert recall(state, 1) is None
    assert recall(state, 5) is not None
    assert recall(state, 9) is not None


def test_at_most_the_newest_verdicts_are_kept():
    state: dict = {}
    for offset in range(KEEP_AT_MOST + 5):
        remember(state, offset, RECORD, committed=None)
    assert len(state["verdicts"]) == KEEP_AT_MOST
    assert recall(state, 4) is None
    assert recall(state, KEEP_AT_MOST + 4) is not None


def test_features_are_kept_as_values_and_recalled_by_name():
    from models.features import FEATURE_NAMES

    features = {name: float(i) for i, name in enumerate(FEATURE_NAMES)}
    state: dict = {}
    remember(state, 3, {**RECORD, "features": features}, committed=None)
    assert state["verdicts"]["3"]["features"] == list(features.values())
    assert recall(state, 3)["features"] == features

import orjson

from agents.reemit import KEEP_AT_MOST, kept_verdicts, recall, remember

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
    assert orjson.loads(state["verdicts"]["3"])["features"] == list(features.values())
    assert recall(state, 3)["features"] == features


def test_a_verdict_is_kept_as_json_text_and_decoded_only_when_recalled():
    state: dict = {}
    remember(state, 7, RECORD, committed=None)
    # Text: decoding the state for the user's next transaction builds one string.
    assert isinstance(state["verdicts"]["7"], str)
    assert orjson.loads(orjson.dumps(state))["verdicts"] == state["verdicts"]
    assert recall(state, 7) == {"risk_score": 42.0, "is_alert": True}


def test_verdicts_kept_as_objects_by_an_earlier_version_are_still_recalled():
    from models.features import FEATURE_NAMES

    values = [float(i) for i in range(len(FEATURE_NAMES))]
    state: dict = {"verdicts": {"4": {"risk_score": 9.0, "features": values}}}
    expected = {"risk_score": 9.0, "features": dict(zip(FEATURE_NAMES, values, strict=True))}
    assert recall(state, 4) == expected
    remember(state, 5, RECORD, committed=None)  # the old one stays until committed
    assert recall(state, 4) == expected
    assert recall(state, 5) == {"risk_score": 42.0, "is_alert": True}


def test_all_kept_verdicts_are_decoded_for_views():
    state: dict = {"verdicts": {"4": {"risk_score": 9.0}}}
    remember(state, 5, RECORD, committed=None)
    assert kept_verdicts(state) == {
        "4": {"risk_score": 9.0},
        "5": {"risk_score": 42.0, "is_alert": True},
    }
    assert kept_verdicts({}) == {}

import orjson
import pytest

from models.detector import Detector
from models.holding import HoldPolicy, held_count
from models.risk import RiskPolicy
from models.scoring import Step, score_in_order
from models.simulator import SimulatorConfig, simulate
from models.training import replay_features, train_model


@pytest.fixture(scope="module")
def judge() -> Detector:
    transactions = list(simulate(SimulatorConfig(users=60, seed=1), 3000))
    model = train_model(replay_features(transactions), n_estimators=20, seed=1)
    # A generous budget, so that many users have alerts among their transactions.
    return Detector(policy=RiskPolicy(alert_budget=0.05), model=model)


def run(judge, transactions, size, hold):
    store: dict = {}
    verdicts = []
    for start in range(0, len(transactions), size):
        chunk = transactions[start : start + size]
        steps = [Step(tx.user_id, tx, start + i) for i, tx in enumerate(chunk)]

        def state_of(slot):
            raw = store.get(slot)
            return None if raw is None else orjson.loads(raw)

        judged, states = score_in_order(steps, state_of, judge, hold=hold)
        store.update((slot, orjson.dumps(state)) for slot, state in states.items())
        verdicts.extend(v.assessment for v in judged)
    return verdicts, store


@pytest.mark.parametrize("hold", [None, HoldPolicy(seconds=86_400.0)])
def test_verdicts_do_not_depend_on_the_batch_size(judge, hold):
    transactions = list(simulate(SimulatorConfig(users=40, fraud_rate=0.05, seed=9), 1500))
    one, states = run(judge, transactions, 1, hold)
    assert sum(a.alert for a in one) > 20
    for size in (7, 500):
        batched, batched_states = run(judge, transactions, size, hold)
        assert batched == one
        assert batched_states == states


def test_alerted_transactions_are_held_and_change_later_verdicts(judge):
    transactions = list(simulate(SimulatorConfig(users=40, fraud_rate=0.05, seed=9), 1500))
    learnt, learnt_states = run(judge, transactions, 500, None)
    held, held_states = run(judge, transactions, 500, HoldPolicy(seconds=10 * 86_400.0))
    assert sum(held_count(orjson.loads(s)["profile"]) for s in held_states.values()) > 0
    assert all("held" not in orjson.loads(s)["profile"] for s in learnt_states.values())
    assert held != learnt  # later transactions see profiles without the held ones
    # The first verdict of each user is the same either way.
    first: dict[str, int] = {}
    for i, tx in enumerate(transactions):
        first.setdefault(tx.user_id, i)
    assert [held[i] for i in first.values()] == [learnt[i] for i in first.values()]

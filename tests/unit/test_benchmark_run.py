import pytest

from models.benchmark_run import TXWATCH, BenchmarkPlan, run_benchmark
from models.cardsim import CardSimConfig, simulate_cards

PLAN = BenchmarkPlan("2018-04-01", "2018-04-20", "2018-04-28", "2018-05-04")
CONFIG = CardSimConfig(customers=400, terminals=300, days=34, seed=5)


@pytest.fixture(scope="module")
def figures():
    without = run_benchmark(simulate_cards(CONFIG), PLAN, trees=20)
    with_labels = run_benchmark(simulate_cards(CONFIG), PLAN, trees=20, feedback_days=7)
    return without, with_labels


def test_labels_fed_back_reveal_compromised_terminals(figures):
    without, with_labels = figures
    unsupervised = without[TXWATCH]
    fed = with_labels["txwatch (fraud labels after 7 days, weights learnt from them)"]
    # A small world (17% fraud, most on compromised terminals): measured 0.56 -> 0.89
    # ROC-AUC and 0.31 -> 0.79 average precision.
    assert fed.roc_auc > unsupervised.roc_auc + 0.2
    assert fed.average_precision > unsupervised.average_precision + 0.2
    # Amount alone does not change with feedback: the same rows, the same scores.
    assert with_labels["amount alone"] == without["amount alone"]


@pytest.mark.parametrize(
    "dates",
    [
        ("2018-04-10", "2018-04-01", "2018-04-20", "2018-04-21"),
        ("2018-04-01", "2018-04-10", "2018-04-10", "2018-04-12"),
        ("2018-04-01", "someday", "2018-04-20", "2018-04-21"),
    ],
)
def test_a_plan_out_of_order_is_refused(dates):
    with pytest.raises(ValueError, match=r"in order|ISO date"):
        BenchmarkPlan(*dates)


def test_a_test_period_without_transactions_is_an_error():
    plan = BenchmarkPlan("2018-04-01", "2018-04-05", "2019-01-01", "2019-01-02")
    stream = simulate_cards(CardSimConfig(customers=100, terminals=80, days=8, seed=1))
    with pytest.raises(ValueError, match="no transaction in the test period"):
        run_benchmark(stream, plan, trees=10)

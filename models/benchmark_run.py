"""Running txwatch over handbook-style data as a worker would, and measuring it.

The Fraud Detection Handbook's protocol (see :mod:`models.benchmark`): train on
one period, score every transaction in time order from the training period's
first day on, each against its user's state before it (so users' habits are
learnt exactly as a live worker learns them), and measure a later test week.
The same stream also gives "amount alone", the score the handbook's simplest
baseline would give, for the same rows.

>>> from models.cardsim import CardSimConfig, simulate_cards
>>> plan = BenchmarkPlan("2018-04-01", "2018-04-10", "2018-04-15", "2018-04-16")
>>> stream = simulate_cards(CardSimConfig(customers=300, terminals=600, days=16, seed=3))
>>> figures = run_benchmark(stream, plan, trees=20)
>>> sorted(figures), figures["amount alone"].transactions == figures[TXWATCH].transactions
(['amount alone', 'txwatch (unsupervised)'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from models.benchmark import BenchmarkFigures, ScoredRow, measure_benchmark
from models.detector import Detector
from models.feedback import LabelFeedback
from models.holding import HoldPolicy
from models.merchant_risk import MerchantView
from models.risk import RiskPolicy
from models.rules import RuleThresholds
from models.scoring import score_stream
from models.training import replay_features, train_model
from models.transaction import Transaction

#: The name of txwatch's line in the figures.
TXWATCH: Final = "txwatch (unsupervised)"
#: Transactions scored at once, as a worker's batch.
BATCH: Final = 2000


@dataclass(frozen=True)
class BenchmarkPlan:
    """Training and test periods, inclusive ISO dates (UTC days).

    The defaults: a month of training, two weeks' gap, and the week the
    handbook's unsupervised figures were measured on (its chapter 7).
    """

    train_from: str = "2018-06-11"
    train_to: str = "2018-07-10"
    test_from: str = "2018-07-25"
    test_to: str = "2018-07-31"

    def __post_init__(self) -> None:
        days = [self._day(name) for name in ("train_from", "train_to", "test_from", "test_to")]
        if not (days[0] <= days[1] < days[2] <= days[3]):
            raise ValueError(
                "the periods must be in order: train_from <= train_to < test_from <= test_to"
            )

    def _day(self, name: str) -> date:
        value = getattr(self, name)
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be an ISO date such as 2018-07-25, got {value!r}"
            ) from None

    def start(self, name: str) -> float:
        """Epoch seconds at which the day ``name`` (one of the four fields) starts."""
        return datetime.combine(self._day(name), time(), UTC).timestamp()

    def end(self, name: str) -> float:
        """Epoch seconds at which the day ``name`` ends (the next midnight)."""
        return self.start(name) + timedelta(days=1).total_seconds()


def run_benchmark(
    transactions: Iterable[Transaction],
    plan: BenchmarkPlan,
    *,
    thresholds: RuleThresholds | None = None,
    policy: RiskPolicy | None = None,
    trees: int = 100,
    budget: float = 0.01,
    feedback_days: float | None = None,
    progress: Callable[[str], None] | None = None,
    hold: HoldPolicy | None = None,
) -> dict[str, BenchmarkFigures]:
    """Train on ``plan``'s training period, score in time order, measure its test week.

    ``transactions`` must come in time order (both handbook readers give them
    so); those outside the training start and test end are skipped, the
    others are held in memory. With ``feedback_days``, every fraud's label
    becomes known that many days after the transaction, as chargebacks and
    reviews would report it, and feeds its merchant's record; training then
    also learns the signals' weights from the training period's labels.
    """
    say = progress or (lambda _: None)
    begin, finish = plan.start("train_from"), plan.end("test_to")
    stream = [tx for tx in transactions if begin <= tx.timestamp < finish]
    train_end = plan.end("train_to")
    training = [tx for tx in stream if tx.timestamp < train_end]
    say(f"{len(stream):,} transactions; training on {len(training):,}")
    data = replay_features(training, thresholds=thresholds, feedback_days=feedback_days)
    # Without feedback the line is unsupervised: the labels the data carry stay unread.
    model = train_model(data, n_estimators=trees, learn_weights=feedback_days is not None)
    judge = Detector(thresholds, policy, model)
    test_start = plan.start("test_from")
    scored: list[ScoredRow] = []
    by_amount: list[ScoredRow] = []
    feedback = None if feedback_days is None else LabelFeedback(feedback_days * 86_400.0)
    counted = iter(range(1, len(stream) + 1))

    def merchant_of(tx: Transaction) -> MerchantView | None:
        # As the worker sees it: the record before this transaction, then counted.
        assert feedback is not None
        view = feedback.view(tx)
        feedback.learn(tx, next(counted))
        return view

    lookup = None if feedback is None else merchant_of
    labels_due = None if feedback is None else feedback.user_labels_due
    scoring = score_stream(stream, judge, lookup, hold, batch=BATCH, labels_due=labels_due)
    for done, (tx, verdict) in enumerate(scoring, start=1):
        if tx.timestamp >= test_start:
            label = int(tx.label or 0)
            scored.append(ScoredRow(tx.timestamp, tx.user_id, label, tx.anomaly_kind,
                                    verdict.assessment.risk_score))  # fmt: skip
            by_amount.append(ScoredRow(tx.timestamp, tx.user_id, label, tx.anomaly_kind,
                                       tx.amount))  # fmt: skip
        if done % 200_000 == 0:
            say(f"scored {done:,} of {len(stream):,}")
    if not scored:
        raise ValueError(f"no transaction in the test period {plan.test_from}..{plan.test_to}")
    name = TXWATCH if feedback is None else f"txwatch (fraud labels after {feedback_days:g} days)"
    if model.signal_weights is not None:
        name = name[:-1] + ", weights learnt from them)"
    return {
        name: measure_benchmark(scored, budget=budget),
        "amount alone": measure_benchmark(by_amount, budget=budget),
    }

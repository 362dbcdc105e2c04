import math

import orjson
import pytest

from models.benchmark import (
    PUBLISHED,
    PUBLISHED_SOURCE,
    BenchmarkFigures,
    ScoredRow,
    card_precision_at_k,
    measure_benchmark,
)

DAY1 = 1533686400.0  # 2018-08-08 00:00:00 UTC
DAY2 = DAY1 + 86_400


def row(
    customer: str, label: int, score: float, at: float = DAY1 + 60, kind: str | None = None
) -> ScoredRow:
    return ScoredRow(timestamp=at, customer=customer, label=label, kind=kind, score=score)


def scored(scores: list[float], labels: list[int]) -> list[ScoredRow]:
    """One row per score, each its own card, all on one day."""
    return [
        row(f"c{i}", label, score, at=DAY1 + i)
        for i, (score, label) in enumerate(zip(scores, labels, strict=True))
    ]


# (case, rows, k, drop_detected, expected figures per day), each worked out by hand.
CARD_PRECISION_CASES = [
    (
        "ties rank by customer: genuine 'a' before compromised 'b'",
        [row("b", 1, 0.5), row("a", 0, 0.5)],
        1,
        True,
        [0.0],
    ),
    (
        "ties rank by customer: compromised 'a' before genuine 'b'",
        [row("b", 0, 0.5), row("a", 1, 0.5)],
        1,
        True,
        [1.0],
    ),
    (
        "a tie below the top k does not matter",
        [row("a", 1, 0.9), row("b", 0, 0.2), row("c", 1, 0.2)],
        1,
        True,
        [1.0],
    ),
    (
        "a card takes its highest score of the day (0.6, not its last 0.1)",
        [row("a", 0, 0.6), row("a", 0, 0.1, at=DAY1 + 120), row("b", 1, 0.5)],
        1,
        True,
        [0.0],
    ),
    (
        "a card is compromised if any of its day's transactions is a fraud",
        [row("a", 1, 0.1), row("a", 0, 0.9, at=DAY1 + 120), row("b", 0, 0.5)],
        1,
        True,
        [1.0],
    ),
    (
        "several frauds of one card are one detection",
        [row("a", 1, 0.9), row("a", 1, 0.8, at=DAY1 + 1), row("b", 0, 0.7), row("c", 1, 0.1)],
        2,
        True,
        [0.5],
    ),
    (
        "a card caught on day 1 is blocked on day 2",
        [row("a", 1, 0.9), row("b", 0, 0.1), row("a", 1, 0.9, at=DAY2), row("b", 0, 0.5, at=DAY2)],
        1,
        True,
        [1.0, 0.0],
    ),
    (
        "without the drop rule it is counted again",
        [row("a", 1, 0.9), row("b", 0, 0.1), row("a", 1, 0.9, at=DAY2), row("b", 0, 0.5, at=DAY2)],
        1,
        False,
        [1.0, 1.0],
    ),
    (
        "an alerted genuine card is not blocked",
        [row("b", 0, 0.9), row("a", 1, 0.1), row("b", 1, 0.9, at=DAY2), row("a", 0, 0.5, at=DAY2)],
        1,
        True,
        [0.0, 1.0],
    ),
    (
        "a compromised card that was missed is not blocked",
        [row("b", 0, 0.9), row("a", 1, 0.1), row("a", 1, 0.9, at=DAY2), row("b", 0, 0.5, at=DAY2)],
        1,
        True,
        [0.0, 1.0],
    ),
    (
        "fewer than k cards: still divided by k",
        [row("a", 1, 0.9), row("b", 1, 0.5), row("c", 0, 0.7)],
        100,
        True,
        [0.02],
    ),
    (
        "a day whose cards were all blocked counts as 0",
        [row("a", 1, 0.9), row("a", 1, 0.9, at=DAY2)],
        1,
        True,
        [1.0, 0.0],
    ),
    (
        "days are UTC days, in day order whatever the row order",
        [row("a", 0, 0.9, at=DAY2), row("a", 1, 0.9, at=DAY2 - 1), row("b", 0, 0.5, at=DAY1)],
        1,
        True,
        [1.0, 0.0],
    ),
    ("no rows, no days", [], 100, True, []),
]


@pytest.mark.parametrize(
    ("rows", "k", "drop_detected", "expected"),
    [case[1:] for case in CARD_PRECISION_CASES],
    ids=[case[0] for case in CARD_PRECISION_CASES],
)
def test_card_precision_at_k(
    rows: list[ScoredRow], k: int, drop_detected: bool, expected: list[float]
) -> None:
    assert card_precision_at_k(rows, k, drop_detected=drop_detected) == pytest.approx(expected)
    reordered = card_precision_at_k(rows[::-1], k, drop_detected=drop_detected)
    assert reordered == pytest.approx(expected)


def test_card_precision_drops_detected_cards_by_default() -> None:
    rows = [row("a", 1, 0.9), row("a", 1, 0.9, at=DAY2), row("b", 0, 0.5, at=DAY2)]
    assert card_precision_at_k(rows, 1) == [1.0, 0.0]


# (scores, labels, budget, rows alerted, recall), worked out by hand; one card a row.
BUDGET_CASES = [
    pytest.param(
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 0, 1] + [0] * 7, 0.2, 2, 0.5, id="no tie at the edge"
    ),
    pytest.param(
        [9, 7, 7, 7, 5, 4, 3, 2, 1, 0], [0, 1] + [0] * 8, 0.2, 1, 0.0, id="a straddling tie is out"
    ),
    pytest.param([9, 7, 7, 1], [0, 0, 1, 1], 0.75, 3, 0.5, id="a tie that fits whole is in"),
    pytest.param([5.0] * 10, [1] + [0] * 9, 0.5, 0, 0.0, id="all tied: nobody is alerted"),
    pytest.param(
        list(range(100, 0, -1)), [0] * 28 + [1] + [0] * 71, 0.29, 29, 1.0, id="0.29 of 100 is 29"
    ),
    pytest.param([3, 2, 1], [1, 0, 0], 0.1, 0, 0.0, id="under one row alerts none"),
    pytest.param([3, 3, 1], [1, 0, 1], 1.0, 3, 1.0, id="the whole budget alerts all"),
]


@pytest.mark.parametrize(("scores", "labels", "budget", "alerted", "recall"), BUDGET_CASES)
def test_recall_at_budget(
    scores: list[float], labels: list[int], budget: float, alerted: int, recall: float
) -> None:
    figures = measure_benchmark(scored([float(s) for s in scores], labels), budget=budget)
    assert figures.alerted_at_budget == alerted
    assert figures.alerted_at_budget <= budget * len(scores) + 1e-9
    assert figures.recall_at_budget == pytest.approx(recall)


def test_recall_by_kind_at_budget() -> None:
    rows = [
        row("a", 1, 0.95, kind="high_amount_220"),
        row("b", 1, 0.90, kind="compromised_terminal"),
        row("c", 1, 0.10, kind="compromised_terminal"),
        row("d", 1, 0.05, kind=None),
        row("e", 0, 0.50),
        *[row(f"g{i}", 0, 0.2) for i in range(5)],
    ]
    figures = measure_benchmark(rows, budget=0.2)
    assert figures.alerted_at_budget == 2
    assert figures.recall_at_budget == pytest.approx(2 / 4)
    assert figures.recall_by_kind_at_budget == {
        "compromised_terminal": {"recall": 0.5, "caught": 1, "total": 2},
        "high_amount_220": {"recall": 1.0, "caught": 1, "total": 1},
        "unknown": {"recall": 0.0, "caught": 0, "total": 1},
    }


def test_measure_benchmark_against_hand_figures() -> None:
    rows = [row("a", 1, 0.9), row("b", 0, 0.8), row("c", 1, 0.3), row("d", 0, 0.1)]
    figures = measure_benchmark(rows, k=2, budget=0.5)
    assert (figures.transactions, figures.frauds) == (4, 2)
    # 3 of the 4 (fraud, genuine) pairs are ordered right.
    assert figures.roc_auc == pytest.approx(0.75)
    # Precision 1/1 at the first fraud, 2/3 at the second.
    assert figures.average_precision == pytest.approx((1 + 2 / 3) / 2)
    assert figures.card_precision_at_k == pytest.approx(0.5)
    assert figures.card_precision_by_day == [("2018-08-08", 0.5)]
    assert figures.recall_at_budget == pytest.approx(0.5)


def test_card_precision_mean_over_days() -> None:
    day3 = DAY2 + 86_400
    rows = [row("a", 1, 0.9), row("b", 0, 0.9, at=DAY2), row("c", 1, 0.1, at=DAY2)]
    figures = measure_benchmark([*rows, row("d", 0, 0.5, at=day3)], k=1)
    assert figures.card_precision_by_day == [
        ("2018-08-08", 1.0),
        ("2018-08-09", 0.0),
        ("2018-08-10", 0.0),
    ]
    assert figures.card_precision_at_k == pytest.approx(1 / 3)


@pytest.mark.parametrize("label", [0, 1])
def test_roc_and_ap_are_none_with_one_class(label: int) -> None:
    figures = measure_benchmark([row("a", label, 0.9), row("b", label, 0.1)])
    assert figures.roc_auc is None
    assert figures.average_precision is None


def test_empty_input() -> None:
    figures = measure_benchmark([])
    assert figures.transactions == figures.frauds == figures.alerted_at_budget == 0
    assert figures.roc_auc is None
    assert figures.card_precision_at_k is None
    assert figures.card_precision_by_day == []
    assert figures.recall_at_budget is None
    assert figures.recall_by_kind_at_budget == {}
    assert "n/a" in "\n".join(figures.lines())


def test_as_dict_is_json_ready() -> None:
    rows = [row("a", 1, 0.9, kind="x"), row("b", 0, 0.5), row("a", 0, 0.2, at=DAY2)]
    figures = measure_benchmark(rows, k=1, budget=0.5)
    assert orjson.loads(orjson.dumps(figures.as_dict())) == {
        "transactions": 3,
        "frauds": 1,
        "roc_auc": 1.0,
        "average_precision": 1.0,
        "card_precision_at_k": 0.5,
        "card_precision_by_day": [["2018-08-08", 1.0], ["2018-08-09", 0.0]],
        "k": 1,
        "budget": 0.5,
        "alerted_at_budget": 1,
        "recall_at_budget": 1.0,
        "recall_by_kind_at_budget": {"x": {"recall": 1.0, "caught": 1, "total": 1}},
    }


def test_lines_are_aligned() -> None:
    figures = measure_benchmark([row("a", 1, 0.9, kind="x"), row("b", 0, 0.5)], k=100)
    lines = figures.lines()
    assert "card precision@100   0.0100  (mean of 1 days)" in lines
    assert "  2018-08-08         0.0100" in lines
    assert any(line.startswith("ROC-AUC              1.0000") for line in lines)
    # Every figure starts in the same column.
    assert all(line[20] == " " and line[21] != " " for line in lines[:5])


def test_figures_are_frozen() -> None:
    figures = measure_benchmark([])
    assert isinstance(figures, BenchmarkFigures)
    with pytest.raises(AttributeError):
        figures.k = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("rows", "k", "budget", "message"),
    [
        ([row("a", 1, math.nan)], 100, 0.01, "finite"),
        ([row("a", 2, 0.5)], 100, 0.01, "0 or 1"),
        ([row("a", 1, 0.5, at=math.inf)], 100, 0.01, "finite"),
        ([row("a", 1, 0.5)], 0, 0.01, "k must be"),
        ([row("a", 1, 0.5)], 100, 0.0, "budget must be"),
        ([row("a", 1, 0.5)], 100, 1.5, "budget must be"),
    ],
)
def test_bad_input_is_refused(rows: list[ScoredRow], k: int, budget: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        measure_benchmark(rows, k=k, budget=budget)


def test_published_figures() -> None:
    # Chapter 3's test-week table and Chapter 7's unsupervised baselines, as printed.
    assert PUBLISHED["random_forest"] == {
        "roc_auc": 0.867,
        "average_precision": 0.658,
        "card_precision_at_100": 0.287,
    }
    assert PUBLISHED["isolation_forest"] == {
        "roc_auc": 0.808,
        "average_precision": 0.164,
        "card_precision_at_100": 0.19,
    }
    assert set(PUBLISHED) == set(PUBLISHED_SOURCE)
    assert "Chapter 7" in PUBLISHED_SOURCE["isolation_forest"]
    assert "2018-08-08" in PUBLISHED_SOURCE["random_forest"]

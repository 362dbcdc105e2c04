"""``evaluate --handbook``: txwatch on the Fraud Detection Handbook's kind of data.

The options, and the report: txwatch's figures beside "amount alone" on the
same rows and the handbook's published ones (:data:`models.benchmark.PUBLISHED`).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
import orjson
from faust.cli import AppCommand, option

from app.detection import hold_policy
from models.benchmark import PUBLISHED, PUBLISHED_SOURCE
from models.benchmark_run import BenchmarkPlan, run_benchmark
from models.cardsim import CardSimConfig, simulate_cards
from models.handbook_files import HandbookFileError, read_days


def handbook_options() -> list[Any]:
    """The options of the handbook's evaluation, with the defaults of :class:`BenchmarkPlan`."""
    plan = BenchmarkPlan()
    return [
        option("--handbook-seed", type=int, default=0, show_default=True,
               help="with --handbook: the simulator's seed"),
        option("--train-from", default=plan.train_from, show_default=True,
               help="first day of training (ISO date)"),
        option("--train-to", default=plan.train_to, show_default=True,
               help="last day of training"),
        option("--test-from", default=plan.test_from, show_default=True,
               help="first day measured"),
        option("--test-to", default=plan.test_to, show_default=True, help="last day measured"),
        option("--feedback-days", type=click.FloatRange(min=0), default=None,
               help="feed every fraud's label back this many days after it (7 as the handbook)"),
    ]  # fmt: skip


def handbook_plan(train_from: str, train_to: str, test_from: str, test_to: str) -> BenchmarkPlan:
    """The plan the options name; a usage error says what is wrong with it."""
    try:
        return BenchmarkPlan(train_from, train_to, test_from, test_to)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def report_handbook(
    command: AppCommand,
    plan: BenchmarkPlan,
    files: Path | None,
    seed: int,
    as_json: bool,
    feedback_days: float | None = None,
) -> None:
    """Run the benchmark on simulated data (or ``files``) and print its figures."""

    def progress(message: str) -> None:
        print(f"[evaluate] {message}", file=sys.stderr, flush=True)

    if files is None:
        first = date.fromisoformat(CardSimConfig().start)
        days = (date.fromisoformat(plan.test_to) - first).days + 1
        source = f"handbook-method simulator, seed {seed}"
        transactions = simulate_cards(CardSimConfig(days=days, seed=seed))
    else:
        source = f"the handbook's files in {files}"
        transactions = read_days(files, end=plan.test_to)
    progress(f"{source}: training {plan.train_from}..{plan.train_to}, "
             f"measuring {plan.test_from}..{plan.test_to}")  # fmt: skip
    try:
        figures = run_benchmark(
            transactions, plan, feedback_days=feedback_days, progress=progress, hold=hold_policy()
        )
    except (HandbookFileError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        command.say(orjson.dumps({
            "source": source,
            "plan": plan.__dict__,
            "figures": {name: f.as_dict() for name, f in figures.items()},
            "published": PUBLISHED,
        }).decode())  # fmt: skip
        return
    for name, result in figures.items():
        command.say(f"== {name}, {source}")
        for line in result.lines():
            command.say(line)
    command.say("== published by the handbook (ROC-AUC / average precision / card precision@100)")
    for name, values in PUBLISHED.items():
        figures_text = " / ".join(
            "n/a" if values[key] is None else f"{values[key]:.3f}"
            for key in ("roc_auc", "average_precision", "card_precision_at_100")
        )
        command.say(f"  {name:<26} {figures_text}")
    for source_text in dict.fromkeys(PUBLISHED_SOURCE.values()):
        names = ", ".join(n for n, s in PUBLISHED_SOURCE.items() if s == source_text)
        command.say(f"  ({names}: {source_text})")

"""``faust -A app evaluate``: detection quality from ``scores``, a file, or a simulation."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
from faust.cli import AppCommand, option

from app import app, settings
from app.commands.base import Command
from app.commands.handbook import handbook_options, handbook_plan, report_handbook
from app.commands.options import simulation_options
from app.detection import detector, hold_policy
from app.kafka_io import read_topic
from models.baseline import baseline_outcomes
from models.evaluation import Evaluation, Outcome, outcome_from_record
from models.evaluation import evaluate as measure
from models.scoring import score_stream
from models.simulator import SimulatorConfig, simulate


@app.command(
    option(
        "--from-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="JSONL file of score records instead of the scores topic",
    ),
    option(
        "--simulate",
        "simulated",
        is_flag=True,
        help="score simulated transactions offline with the model file, as a worker would",
    ),
    *simulation_options(count=100_000, seed=2),
    option(
        "--warmup",
        type=int,
        default=0,
        show_default=True,
        help="with --simulate: learn the first N transactions but leave them out of the figures",
    ),
    option(
        "--baseline",
        is_flag=True,
        help="with --simulate: also the prior systems' approach on the same data",
    ),
    option(
        "--train-seed",
        type=int,
        default=1,
        show_default=True,
        help="with --baseline: simulator seed of the baseline's training data",
    ),
    option(
        "--handbook",
        is_flag=True,
        help="simulate by the Fraud Detection Handbook's method, train and score as a worker",
    ),
    option(
        "--handbook-files",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="the handbook's raw daily files (YYYY-MM-DD.pkl) instead of simulating",
    ),
    *handbook_options(),
    option("--json", "as_json", is_flag=True, help="print one JSON object instead of text"),
    base=Command,
)
async def evaluate(
    self: AppCommand,
    from_file: Path | None,
    simulated: bool,
    users: int,
    count: int,
    fraud_rate: float,
    seed: int,
    warmup: int,
    baseline: bool,
    train_seed: int,
    handbook: bool,
    handbook_files: Path | None,
    handbook_seed: int,
    train_from: str,
    train_to: str,
    test_from: str,
    test_to: str,
    feedback_days: float | None,
    as_json: bool,
) -> None:
    """Print ROC-AUC, PR-AUC, precision and recall at the alert threshold, recall per kind.

    With ``--handbook`` or ``--handbook-files``: the handbook's figures (ROC-AUC,
    average precision, card precision@100 per day) beside amount alone and its
    published baselines.
    """
    if handbook or handbook_files is not None:
        plan = handbook_plan(train_from, train_to, test_from, test_to)
        report_handbook(self, plan, handbook_files, handbook_seed, as_json, feedback_days)
        return
    results: dict[str, Evaluation] = {}
    if simulated:
        config = SimulatorConfig(users=users, fraud_rate=fraud_rate, seed=seed)
        transactions = list(simulate(config, count))
        judge = detector()
        outcomes = []
        for tx, verdict in score_stream(transactions, judge, hold=hold_policy()):
            a = verdict.assessment
            outcomes.append(Outcome(tx.label, tx.anomaly_kind, a.risk_score, a.alert))
        name = f"txwatch (model {judge.model_version or 'none: rules only'})"
        if warmup:
            name += f", after {warmup} warm-up transactions"
        results[name] = measure(outcomes[warmup:])
        if baseline:
            train_config = SimulatorConfig(users=users, fraud_rate=fraud_rate, seed=train_seed)
            train_set = list(simulate(train_config, count))
            results["prior systems (global IForest, raw fields)"] = measure(
                baseline_outcomes(train_set, transactions)[warmup:]
            )
    elif from_file is not None:
        with from_file.open("rb") as lines:
            records = [orjson.loads(line) for line in lines if line.strip()]
        results[str(from_file)] = measure(outcome_from_record(r) for r in records)
    else:
        topic = settings.topic("scores")
        records = [orjson.loads(value) async for value in read_topic(topic)]
        results[f"topic {topic}"] = measure(outcome_from_record(r) for r in records)
    if as_json:
        self.say(orjson.dumps({k: v.as_dict() for k, v in results.items()}).decode())
        return
    for name, result in results.items():
        self.say(f"== {name}")
        for line in result.lines():
            self.say(line)

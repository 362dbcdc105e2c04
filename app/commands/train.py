"""``faust -A app train``: fit the shared Isolation Forest and save the model file."""

from __future__ import annotations

import time
from pathlib import Path

import click
import psycopg
from faust.cli import AppCommand, option

from app import app, settings
from app.commands.base import Command
from app.commands.label_sources import read_labels
from app.commands.options import simulation_options
from models.labels import label_transactions, newest_labels
from models.simulator import SimulatorConfig, simulate
from models.training import replay_features, train_model
from models.transaction import InvalidTransaction, Transaction, parse_transaction


@app.command(
    option(
        "--from-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="train on this JSONL file of transactions instead of simulating",
    ),
    *simulation_options(count=100_000, seed=1),
    option("--trees", type=int, default=100, show_default=True, help="isolation trees"),
    option("--max-samples", type=int, default=256, show_default=True, help="rows per tree"),
    option(
        "--labels",
        "labels_from",
        metavar="database|topic|FILE",
        default=None,
        help="outcomes confirmed since (PostgreSQL's labels, the labels topic, or a JSONL/CSV"
        " file): the newest per transaction is its label, and frauds reach their merchants'"
        " records when they became known",
    ),
    option(
        "--unsupervised",
        is_flag=True,
        help="ignore the labels: every signal counts once (weights are learnt when labelled)",
    ),
    option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="model file to write [default: TXWATCH_MODEL_PATH]",
    ),
    base=Command,
)
async def train(
    self: AppCommand,
    from_file: Path | None,
    users: int,
    count: int,
    fraud_rate: float,
    seed: int,
    trees: int,
    max_samples: int,
    labels_from: str | None,
    unsupervised: bool,
    output: Path | None,
) -> None:
    """Train the model every worker loads at start.

    Transactions (simulated, or read from a file in order) go through the
    same per-user state and feature function as live traffic; the model file
    is replaced atomically. Restart the workers to load it. With labelled
    transactions it also learns each signal's weight (models/weights.py).
    """
    started = time.monotonic()
    if from_file is not None:
        source = f"file {from_file}"
        transactions = list(_read_transactions(self, from_file))
    else:
        source = f"simulator users={users} count={count} fraud_rate={fraud_rate} seed={seed}"
        config = SimulatorConfig(users=users, fraud_rate=fraud_rate, seed=seed)
        transactions = list(simulate(config, count))
    known_at = None
    if labels_from is not None:
        try:
            newest = newest_labels(await read_labels(labels_from, self.say))
        except (OSError, LookupError, psycopg.Error) as exc:
            raise click.UsageError(f"--labels {labels_from}: {exc}") from None
        transactions, matched = label_transactions(transactions, newest)
        frauds = sum(1 for label in newest.values() if label.label == 1)
        self.say(
            f"labels from {labels_from}: {len(newest)} transactions ({frauds} fraud),"
            f" {matched} of them in the training history"
        )
        known_at = {tx: label.known_at for tx, label in newest.items() if label.label == 1}
        source += f", labels from {labels_from}"
    self.say(f"training on {len(transactions)} transactions ({source})")
    data = replay_features(
        transactions, progress=lambda n: self.say(f"features {n}"), known_at=known_at
    )
    try:
        model = train_model(
            data,
            n_estimators=trees,
            max_samples=max_samples,
            seed=seed,
            source=source,
            learn_weights=not unsupervised,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    path = model.save(output or settings.model_path)
    self.say(
        f"model {model.version} ({trees} trees, {len(data.features)} rows, {data.users} users)"
        f" saved to {path} in {time.monotonic() - started:.1f}s"
    )
    if model.signal_weights is None:
        self.say("signals weighed once each (no labels, too few, or --unsupervised)")
    else:
        learnt = ", ".join(f"{k} {v:.2f}" for k, v in model.signal_weights.items() if v > 0)
        self.say(f"weights learnt from labels: {learnt}")


def _read_transactions(self: AppCommand, path: Path) -> list[Transaction]:
    valid: list[Transaction] = []
    invalid = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                valid.append(parse_transaction(line))
            except InvalidTransaction as exc:
                invalid += 1
                if invalid <= 5:
                    self.say(f"{path}:{number}: skipped, {exc}")
    if invalid:
        self.say(f"skipped {invalid} invalid lines of {path}")
    return valid

"""``faust -A app produce``: simulated transactions to Kafka or to a file."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
from faust.cli import AppCommand, option

from app import app, settings
from app.commands.options import simulation_options
from app.kafka_io import produce as produce_messages
from models.simulator import SimulatorConfig, simulate
from models.transaction import parse_timestamp


@app.command(
    *simulation_options(count=10_000, seed=42),
    option("--rate", type=float, default=0.0, show_default=True, help="per second; 0: no limit"),
    option(
        "--start", default=None, help="event time of the first day (ISO-8601; default 2026-01-01)"
    ),
    option(
        "--to-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="write JSON lines here instead of sending to Kafka",
    ),
)
async def produce(
    self: AppCommand,
    users: int,
    count: int,
    fraud_rate: float,
    seed: int,
    rate: float,
    start: str | None,
    to_file: Path | None,
) -> None:
    """Simulate users and their transactions, with labelled anomalies.

    The same seed always gives the same transactions. Messages are keyed by
    user_id and carry event-time timestamps.
    """
    try:
        config = SimulatorConfig(
            users=users,
            fraud_rate=fraud_rate,
            seed=seed,
            **({"start": parse_timestamp(start)} if start else {}),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    stream = simulate(config, count)
    if to_file is not None:
        written = 0
        with to_file.open("wb") as out:
            for tx in stream:
                out.write(orjson.dumps(tx.to_dict()) + b"\n")
                written += 1
                if written % 50_000 == 0:
                    self.say(f"written {written}/{count}")
        self.say(f"wrote {written} transactions to {to_file}")
        return
    topic = settings.topic("transactions")
    sent = await produce_messages(
        topic,
        ((tx.user_id.encode(), orjson.dumps(tx.to_dict())) for tx in stream),
        rate=rate,
        progress=lambda n, r: self.say(f"sent {n}/{count} ({r:,.0f}/s)"),
    )
    self.say(f"sent {sent} transactions to {topic}")

"""``faust -A app produce``: simulated transactions to Kafka or to a file."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson
from faust.cli import AppCommand, option

from app import app, settings
from app.commands.base import Command
from app.commands.options import simulation_options
from app.kafka_io import newest_values
from app.kafka_io import produce as produce_messages
from models.simulator import SimulatorConfig, simulate, start_after
from models.transaction import parse_timestamp


@app.command(
    *simulation_options(count=10_000, seed=42),
    option("--rate", type=float, default=0.0, show_default=True, help="per second; 0: no limit"),
    option(
        "--start",
        default=None,
        help="event time of the first day (ISO-8601; default 2026-01-01), or `continue`: "
        "the day after the newest transaction in the topic, today at the earliest",
    ),
    option(
        "--users-seed",
        type=int,
        default=None,
        help="seed of the users and their habits (default: --seed); keep it to send "
        "new transactions of the same users",
    ),
    option(
        "--to-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="write JSON lines here instead of sending to Kafka",
    ),
    base=Command,
)
async def produce(
    self: AppCommand,
    users: int,
    count: int,
    fraud_rate: float,
    seed: int,
    rate: float,
    start: str | None,
    users_seed: int | None,
    to_file: Path | None,
) -> None:
    """Simulate users and their transactions, with labelled anomalies.

    The same seeds always give the same transactions. Messages are keyed by
    user_id and carry event-time timestamps.
    """
    topic = settings.topic("transactions")
    if start == "continue" and to_file is not None:
        raise click.UsageError("--start continue follows the topic, not a file")
    try:
        if start == "continue":
            first_day = start_after(newest_event_time(await newest_values(topic)), time.time())
            self.say(f"starting at {datetime.fromtimestamp(first_day, UTC):%Y-%m-%d}")
        else:
            first_day = parse_timestamp(start) if start else None
        config = SimulatorConfig(
            users=users,
            fraud_rate=fraud_rate,
            seed=seed,
            users_seed=users_seed,
            **({"start": first_day} if first_day is not None else {}),
        )
    except ValueError as exc:  # InvalidTransaction included
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
    sent = await produce_messages(
        topic,
        ((tx.user_id.encode(), orjson.dumps(tx.to_dict())) for tx in stream),
        rate=rate,
        progress=lambda n, r: self.say(f"sent {n}/{count} ({r:,.0f}/s)"),
    )
    self.say(f"sent {sent} transactions to {topic}")


def newest_event_time(values: Iterable[bytes]) -> float | None:
    """The latest event time among ``values`` that are transactions; None if none is."""
    times = []
    for value in values:
        try:
            times.append(parse_timestamp(orjson.loads(value)["timestamp"]))
        except (ValueError, KeyError, TypeError):  # not a transaction: it says nothing of time
            continue
    return max(times, default=None)

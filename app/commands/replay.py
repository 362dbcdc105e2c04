"""``faust -A app replay FILE``: a JSONL or CSV file of transactions (or labels) to Kafka."""

from __future__ import annotations

from pathlib import Path

import click
from faust.cli import AppCommand, argument, option

from app import app, settings
from app.commands.base import Command
from app.files import detect_format, parse_mapping, read_messages
from app.kafka_io import produce as produce_messages


@app.command(
    argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    option(
        "--format",
        "fmt",
        type=click.Choice(["auto", "jsonl", "csv"]),
        default="auto",
        show_default=True,
        help="file format; auto: by the file's extension",
    ),
    option(
        "--map",
        "mapping",
        multiple=True,
        metavar="FIELD=COLUMN",
        help="read FIELD from COLUMN, e.g. --map merchant_category=merchant_type",
    ),
    option("--rate", type=float, default=0.0, show_default=True, help="per second; 0: no limit"),
    option(
        "--labels",
        is_flag=True,
        help="FILE holds labels (confirmed fraud or genuine): send them to the labels topic",
    ),
    base=Command,
)
async def replay(
    self: AppCommand,
    file: Path,
    fmt: str,
    mapping: tuple[str, ...],
    rate: float,
    labels: bool,
) -> None:
    """Send every record of FILE to the transactions topic (or labels), keyed by user_id.

    Records are sent as they are: the worker validates them and dead-letters
    malformed ones with a reason, so nothing is dropped on the way.
    """
    try:
        columns = parse_mapping(mapping)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    chosen = detect_format(file) if fmt == "auto" else fmt
    topic = settings.topic("labels" if labels else "transactions")
    sent = await produce_messages(
        topic,
        read_messages(file, chosen, columns),  # type: ignore[arg-type]
        rate=rate,
        progress=lambda n, r: self.say(f"sent {n} ({r:,.0f}/s)"),
    )
    self.say(f"sent {sent} records from {file} to {topic}")

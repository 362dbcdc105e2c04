"""Where ``train --labels`` reads labels: PostgreSQL, the ``labels`` topic, or a file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg

from app import settings
from app.files import detect_format, read_messages
from app.kafka_io import read_topic
from models.labels import InvalidLabel, Label, parse_label

#: Every label PostgreSQL keeps, oldest first (the newest per transaction wins later).
SELECT_LABELS = """
SELECT transaction_id, user_id, label, extract(epoch FROM known_at), merchant_id,
       extract(epoch FROM "timestamp"), source
FROM labels ORDER BY known_at, id
"""


async def read_labels(source: str, say: Callable[[str], None]) -> list[Label]:
    """The labels of ``source``: ``database``, ``topic`` or the path of a JSONL/CSV file.

    Invalid labels (in the topic or a file) are skipped and counted aloud.
    """
    if source not in ("database", "topic"):
        return labels_from_file(Path(source), say)
    if source == "database":
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            cursor = await conn.execute(SELECT_LABELS)
            rows = await cursor.fetchall()
        return [
            Label(
                tx,
                user,
                int(label),
                float(known),
                merchant,
                None if when is None else float(when),
                origin,
            )
            for tx, user, label, known, merchant, when, origin in rows
        ]
    topic = settings.topic("labels")
    return _valid([value async for value in read_topic(topic)], topic, say)


def labels_from_file(path: Path, say: Callable[[str], None]) -> list[Label]:
    """The valid labels of a JSONL or CSV file (invalid ones skipped and counted aloud)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not database, topic, or a file")
    return _valid((value for _, value in read_messages(path, detect_format(path))), str(path), say)


def _valid(values: Iterable[bytes], origin: str, say: Callable[[str], None]) -> list[Label]:
    labels, invalid = [], 0
    for value in values:
        try:
            labels.append(parse_label(value))
        except InvalidLabel as exc:
            invalid += 1
            if invalid <= 5:
                say(f"{origin}: skipped a label, {exc}")
    if invalid:
        say(f"skipped {invalid} invalid labels of {origin}")
    return labels

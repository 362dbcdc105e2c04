"""Reading transaction files for ``replay`` and ``train``: JSONL and CSV.

A column mapping lets a data set with other column names be fed as is
(``merchant_category=merchant_type``). Rows are passed on as they are, even
malformed ones: the worker validates them and dead-letters what is wrong,
so a replay loses nothing silently.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson

Format = Literal["jsonl", "csv"]

#: CSV holds only text: these fields are turned into numbers when they look like one.
NUMERIC_FIELDS = ("amount", "label", "timestamp")


def parse_mapping(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["field=column", ...]`` as {column: field}; ValueError names a malformed pair."""
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ValueError(f"--map {pair!r}: expected FIELD=COLUMN, e.g. user_id=customer")
        mapping[column.strip()] = field.strip()
    return mapping


def detect_format(path: Path) -> Format:
    """The file's format from its name (.csv, else JSON lines)."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_messages(
    path: Path, fmt: Format, mapping: Mapping[str, str] | None = None
) -> Iterator[tuple[bytes | None, bytes]]:
    """``(key, value)`` messages for the ``transactions`` topic, one per record of the file.

    The key is the record's user_id; a line that is not a JSON object is sent
    as it is, with no key, to be dead-lettered by the worker with its reason.
    """
    mapping = mapping or {}
    with path.open("rb") as raw:
        if fmt == "csv":
            for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")):
                yield _message(_coerce({mapping.get(k, k): v for k, v in row.items() if k}))
            return
        for line in raw:
            line = line.strip()
            if not line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield None, line
                continue
            if isinstance(record, dict) and mapping:
                record = {mapping.get(k, k): v for k, v in record.items()}
            if isinstance(record, dict):
                yield _message(record)
            else:
                yield None, line


def _message(record: dict[str, Any]) -> tuple[bytes | None, bytes]:
    user_id = record.get("user_id")
    key = None if user_id is None or user_id == "" else str(user_id).encode()
    return key, orjson.dumps(record)


def _coerce(row: dict[str, Any]) -> dict[str, Any]:
    for name in NUMERIC_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                continue  # left as text: the worker says what is wrong with it
            row[name] = int(number) if number.is_integer() and name == "label" else number
    for name, value in list(row.items()):
        if value == "":
            row[name] = None
    return row

"""Transactions from the Fraud Detection Handbook's raw daily files, read without pandas.

The handbook's simulated data set is published as one file a day,
``YYYY-MM-DD.pkl`` (2018-04-01 to 2018-09-30), each a pandas DataFrame
written by ``DataFrame.to_pickle`` with the columns ``TRANSACTION_ID``,
``TX_DATETIME`` (datetime64[ns]), ``CUSTOMER_ID``, ``TERMINAL_ID``,
``TX_AMOUNT``, ``TX_TIME_SECONDS``, ``TX_TIME_DAYS``, ``TX_FRAUD`` and
``TX_FRAUD_SCENARIO``.

Such a file is untrusted input: unpickling it the ordinary way runs whatever
code it names. It is read by :func:`models.restricted_pickle.load_dataframe`,
which admits only the pandas and numpy names such a DataFrame needs, maps them
to inert stand-ins and refuses anything else (see that module for the list),
so pandas is not needed and nothing in the file runs. Every value is then
checked before it becomes a :class:`~models.transaction.Transaction`; any
problem raises :class:`HandbookFileError` naming the file and the cause.

``TX_TIME_SECONDS`` and ``TX_TIME_DAYS`` are derived from ``TX_DATETIME`` and
are not read; other extra columns are ignored too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Final

from models.restricted_pickle import Column, PickleRefused, load_dataframe
from models.transaction import MAX_AMOUNT, MAX_EPOCH, MAX_TEXT_LENGTH, MIN_EPOCH, Transaction

__all__ = ["SCENARIO_NAMES", "HandbookFileError", "read_day", "read_days"]

#: ``anomaly_kind`` for each nonzero ``TX_FRAUD_SCENARIO`` (0 is a genuine transaction).
SCENARIO_NAMES: Final[dict[int, str]] = {
    1: "high_amount_220",
    2: "compromised_terminal",
    3: "compromised_card",
}
#: The columns read; a file without one of them is refused.
REQUIRED_COLUMNS: Final = (
    "TRANSACTION_ID",
    "TX_DATETIME",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
)
#: Largest file read. A day of the handbook's data is about 0.6 MB; the cap
#: keeps a wrong or hostile path from being read into memory whole.
MAX_FILE_BYTES: Final = 256 * 1024 * 1024
_DAY_FILE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\.pkl")
_PER_SECOND: Final = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


class HandbookFileError(ValueError):
    """A daily file (or directory) that cannot be read; the message names it and the cause."""


def read_day(path: str | os.PathLike[str]) -> list[Transaction]:
    """All transactions of one daily file, in the file's row order.

    Raises :class:`HandbookFileError` if the file cannot be read, is not a
    pickled DataFrame of the admitted kinds, lacks a column of
    :data:`REQUIRED_COLUMNS` or holds an invalid value (the message names the
    row, counted from 0).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise HandbookFileError(f"{path}: {size} bytes, more than {MAX_FILE_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise HandbookFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        table = load_dataframe(data)
    except PickleRefused as exc:
        raise HandbookFileError(f"{path}: {exc}") from None
    missing = [name for name in REQUIRED_COLUMNS if name not in table.columns]
    if missing:
        raise HandbookFileError(f"{path}: missing column(s) {', '.join(missing)}")
    columns = [_column_values(path, name, table.columns[name]) for name in REQUIRED_COLUMNS]
    return [
        _transaction(path, row, *values) for row, values in enumerate(zip(*columns, strict=True))
    ]


def read_days(
    directory: str | os.PathLike[str], start: str | None = None, end: str | None = None
) -> Iterator[Transaction]:
    """The transactions of the daily files in ``directory``, file after file in date order.

    Only files named ``YYYY-MM-DD.pkl`` are read, those from ``start`` to
    ``end`` (ISO dates, both inclusive; ``None`` leaves that side open), each
    in its row order. The files are listed at once: :class:`HandbookFileError` if ``directory``
    cannot be listed, a bound is not an ISO date or no file is in range. Each
    file is read when the iteration reaches it, with :func:`read_day`'s errors.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     read_days(empty, "2018-04-01", "2018-04-03")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    models.handbook_files.HandbookFileError: ...: no daily file YYYY-MM-DD.pkl from 2018-04-01 ...
    """
    directory = Path(directory)
    first, last = _bound(directory, start, date.min), _bound(directory, end, date.max)
    try:
        with os.scandir(directory) as entries:
            names = [entry.name for entry in entries if entry.is_file()]
    except OSError as exc:
        raise HandbookFileError(f"{directory}: cannot be listed: {exc.strerror or exc}") from None
    days = sorted((day, name) for name in names if (day := _day_of(name)) is not None)
    chosen = [directory / name for day, name in days if first <= day <= last]
    if not chosen:
        raise HandbookFileError(
            f"{directory}: no daily file YYYY-MM-DD.pkl from {start or 'the first'}"
            f" to {end or 'the last'}"
        )
    return _read_each(chosen)


def _read_each(paths: list[Path]) -> Iterator[Transaction]:
    for path in paths:
        yield from read_day(path)


def _bound(directory: Path, text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise HandbookFileError(f"{directory}: {text!r} is not an ISO date YYYY-MM-DD") from None


def _day_of(name: str) -> date | None:
    # Only names of exactly the form YYYY-MM-DD.pkl are daily files.
    if not _DAY_FILE.fullmatch(name):
        return None
    try:
        return date.fromisoformat(name[:10])
    except ValueError:  # e.g. 2018-02-30
        return None


def _column_values(path: Path, name: str, column: Column) -> list[Any]:
    # TX_DATETIME must be a datetime64 column: turn it into epoch seconds here,
    # a whole column at a time; the other columns are checked row by row.
    if name != "TX_DATETIME":
        return column.values
    if column.kind != "M" or column.unit not in _PER_SECOND:
        raise HandbookFileError(f"{path}: TX_DATETIME is not a datetime64 column")
    per_second = _PER_SECOND[column.unit]
    # Whole seconds plus the fraction: exact for whole seconds, unlike ns / 1e9.
    return [
        whole + fraction / per_second
        for whole, fraction in (divmod(count, per_second) for count in column.values)
    ]


def _transaction(
    path: Path,
    row: int,
    tx_id: Any,
    timestamp: float,
    customer: Any,
    terminal: Any,
    amount: Any,
    fraud: Any,
    scenario: Any,
) -> Transaction:
    def bad(what: str, value: Any) -> HandbookFileError:
        return HandbookFileError(f"{path}: row {row}: {what}, got {value!r:.40}")

    if not (MIN_EPOCH <= timestamp < MAX_EPOCH):  # NaT lands far below
        raise bad("TX_DATETIME must be within 2000-2100", timestamp)
    if type(amount) not in (int, float) or not math.isfinite(amount):
        raise bad("TX_AMOUNT must be a finite number", amount)
    if not (0 <= amount <= MAX_AMOUNT):  # 0.0 occurs in the handbook's data and is kept
        raise bad(f"TX_AMOUNT must be in 0..{MAX_AMOUNT:.0e}", amount)
    if type(fraud) not in (int, float, bool) or fraud not in (0, 1):
        raise bad("TX_FRAUD must be 0 or 1", fraud)
    if type(scenario) not in (int, float, bool) or scenario not in (0, 1, 2, 3):
        raise bad("TX_FRAUD_SCENARIO must be 0, 1, 2 or 3", scenario)
    return Transaction(
        transaction_id=_identifier(bad, "TRANSACTION_ID", tx_id),
        user_id=_identifier(bad, "CUSTOMER_ID", customer),
        amount=float(amount),
        timestamp=timestamp,
        merchant_id=_identifier(bad, "TERMINAL_ID", terminal),
        label=int(fraud),
        anomaly_kind=SCENARIO_NAMES.get(int(scenario)),
    )


def _identifier(bad: Callable[[str, Any], HandbookFileError], name: str, value: Any) -> str:
    # Integers in the handbook's files; text is taken too, as the contract does.
    # Floats are not: str(12.0) would not match the 12 of another day's file.
    if type(value) is int:
        return str(value)
    if type(value) is str and value.strip() and len(value) <= MAX_TEXT_LENGTH:
        return value
    raise bad(f"{name} must be an integer or short text", value)

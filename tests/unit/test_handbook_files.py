"""Tests of the handbook's daily-file reader, on files these tests write without pandas.

:func:`write_day` writes what ``DataFrame.to_pickle`` of pandas 0.2x wrote for
the handbook (pickle protocol 4): the same globals, the same opcodes and the
same BlockManager layout, down to the dtype arguments. It pickles stand-in
classes that carry the pandas names; pickle checks a class by importing its
module, so the pandas modules (and numpy 1's ``numpy.core.multiarray``) are
stand-in modules in ``sys.modules`` while a file is written, and only then.
Checked outside the suite against the published files: given a day's values
and row index, it writes each of the 183 files again byte for byte.
"""

from __future__ import annotations

import builtins
import copyreg
import io
import os
import pickle
import pickletools
import re
import sys
import types
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

from models import restricted_pickle
from models.handbook_files import SCENARIO_NAMES, HandbookFileError, read_day, read_days
from models.restricted_pickle import PickleRefused, load_dataframe
from models.transaction import Transaction

COLUMNS = (
    "TRANSACTION_ID",
    "TX_DATETIME",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_TIME_SECONDS",
    "TX_TIME_DAYS",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
)
# pandas' consolidated blocks in the handbook's files, in their order: dtype
# and the columns (by name) each holds; ids and times are an object block.
BLOCKS = (
    ("M8[ns]", ("TX_DATETIME",)),
    ("f8", ("TX_AMOUNT",)),
    ("i8", ("TRANSACTION_ID", "TX_FRAUD", "TX_FRAUD_SCENARIO")),
    ("O", ("CUSTOMER_ID", "TERMINAL_ID", "TX_TIME_SECONDS", "TX_TIME_DAYS")),
)
# What a real daily file names and uses (seen with pickletools on 2018-04-01.pkl).
HANDBOOK_GLOBALS = {
    "pandas.core.frame DataFrame",
    "pandas.core.internals.managers BlockManager",
    "pandas.core.indexes.base _new_Index",
    "pandas.core.indexes.base Index",
    "pandas.core.indexes.numeric Int64Index",
    "numpy.core.multiarray _reconstruct",
    "numpy ndarray",
    "numpy dtype",
    "builtins slice",
}
HANDBOOK_OPCODES = {
    "APPEND", "APPENDS", "BINBYTES", "BINGET", "BININT", "BININT1", "BININT2", "BUILD",
    "EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE", "FRAME", "MARK", "MEMOIZE", "NEWFALSE",
    "NEWOBJ", "NONE", "PROTO", "REDUCE", "SETITEM", "SETITEMS", "SHORT_BINBYTES",
    "SHORT_BINUNICODE", "STACK_GLOBAL", "STOP", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
}  # fmt: skip


# --- stand-ins carrying the pandas names ----------------------------------------


class DataFrame:
    __module__ = "pandas.core.frame"

    def __init__(self, manager: BlockManager, key: str = "_data", attrs: Any = None) -> None:
        self.manager, self.key, self.attrs = manager, key, attrs or {}

    def __reduce__(self) -> Any:
        state = {self.key: self.manager, "_typ": "dataframe", "_metadata": [], "attrs": self.attrs}
        return copyreg.__newobj__, (type(self),), state


class BlockManager:
    __module__ = "pandas.core.internals.managers"

    def __init__(self, state: tuple[Any, ...]) -> None:
        self.state = state

    def __reduce__(self) -> Any:
        return copyreg.__newobj__, (type(self),), self.state


class Index:
    __module__ = "pandas.core.indexes.base"

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> Any:
        return _new_Index, (type(self), self.state)


class Int64Index(Index):
    __module__ = "pandas.core.indexes.numeric"


class RangeIndex(Index):
    __module__ = "pandas.core.indexes.range"


def _new_Index(cls: type, state: dict[str, Any]) -> Any:  # never called: named only
    raise AssertionError


def _reconstruct(cls: type, shape: tuple[int, ...], typecode: bytes) -> Any:  # likewise
    raise AssertionError


_new_Index.__module__ = "pandas.core.indexes.base"
_reconstruct.__module__ = "numpy.core.multiarray"


def stand_in_modules() -> dict[str, types.ModuleType]:
    modules = {"pandas": types.ModuleType("pandas")}
    for obj in (DataFrame, BlockManager, Index, Int64Index, RangeIndex, _new_Index, _reconstruct):
        module = modules.setdefault(obj.__module__, types.ModuleType(obj.__module__))
        setattr(module, obj.__name__, obj)
    return modules


class HandbookPickler(pickle.Pickler):
    """Writes numpy arrays and dtypes as numpy 1 did for the handbook's files."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            # a new (0,) each time, as numpy makes one per array (else it is memoized)
            return _reconstruct, (np.ndarray, tuple([0]), b"b"), obj.__reduce__()[2]
        if isinstance(obj, np.dtype):
            _, (typestr, _align, _copy), state = obj.__reduce__()
            if len(state) == 9:  # datetime64: numpy 1 wrote {} where numpy 2 writes None
                state = (*state[:8], ({}, state[8][1]))
            return np.dtype, (typestr, 0, 1), state
        return NotImplemented


def frame_of(
    rows: list[dict[str, Any]], *, modern: bool = False, fortran: bool = False
) -> DataFrame:
    """A DataFrame stand-in of ``rows`` in the handbook's block layout.

    ``modern``: the row axis a RangeIndex and the manager under ``_mgr``, as
    newer pandas writes them; ``fortran``: blocks in Fortran order.
    """
    names = [name for name in COLUMNS if all(name in row for row in rows)]
    columns = Index({"data": np.array(names, dtype=object), "name": None})
    if modern:
        index: Index = RangeIndex({"name": None, "start": 0, "stop": len(rows), "step": 1})
    else:
        index = Int64Index({"data": np.arange(len(rows), dtype="i8"), "name": None})
    values, items, blocks = [], [], []
    for dtype, wanted in BLOCKS:
        held = [name for name in wanted if name in names]
        if not held:
            continue
        places = [names.index(name) for name in held]
        if dtype == "O":  # pandas' object block holds the very label objects
            array = np.empty((len(held), len(rows)), dtype=object)
            array[:] = [[row[name] for row in rows] for name in held]
        else:
            array = np.array([[row[name] for row in rows] for name in held], dtype=dtype)
        if fortran:
            array = np.asfortranarray(array)
        label_data = np.array([names[p] for p in places], dtype=object)
        if len(places) == 1:
            locs: Any = slice(places[0], places[0] + 1, 1)
        else:
            locs = np.array(places, dtype="i8")
        values.append(array)
        items.append(Index({"data": label_data, "name": None}))
        blocks.append({"values": array, "mgr_locs": locs})
    axes = [columns, index]
    state = (axes, values, items, {"0.14.1": {"axes": axes, "blocks": blocks}})
    return DataFrame(BlockManager(state), "_mgr" if modern else "_data")


def dump(obj: Any, *, modern: bool = False) -> bytes:
    """Pickle ``obj`` as the handbook's files are, or (``modern``) as numpy 2 with
    pickle protocol 5 would, while the pandas names resolve to the stand-ins."""
    out = io.BytesIO()
    with mock.patch.dict(sys.modules, stand_in_modules()):
        if modern:
            pickle.Pickler(out, protocol=5).dump(obj)
        else:
            HandbookPickler(out, protocol=4).dump(obj)
    return out.getvalue()


def write_day(path: Path, rows: list[dict[str, Any]], *, modern: bool = False) -> Path:
    path.write_bytes(dump(frame_of(rows, modern=modern), modern=modern))
    return path


def tx_row(**changes: Any) -> dict[str, Any]:
    row = {
        "TRANSACTION_ID": 0,
        "TX_DATETIME": np.datetime64("2018-04-01T00:00:31", "ns"),
        "CUSTOMER_ID": 596,
        "TERMINAL_ID": 3156,
        "TX_AMOUNT": 57.16,
        "TX_TIME_SECONDS": 31,
        "TX_TIME_DAYS": 0,
        "TX_FRAUD": 0,
        "TX_FRAUD_SCENARIO": 0,
    }
    row.update(changes)
    return {name: value for name, value in row.items() if value is not ...}


def day_rows(day: str, first_id: int, count: int = 4) -> list[dict[str, Any]]:
    """``count`` (at most 60) transactions a minute apart, scenarios 0, 1, 2, 3, 0, ..."""
    return [
        tx_row(
            TRANSACTION_ID=first_id + i,
            TX_DATETIME=np.datetime64(f"{day}T00:{i:02d}:00", "ns"),
            TX_FRAUD=int(i % 4 > 0),
            TX_FRAUD_SCENARIO=i % 4,
        )
        for i in range(count)
    ]


def globals_and_opcodes(data: bytes) -> tuple[set[str], set[str]]:
    """The globals a pickle names ("module name") and the opcodes it uses, unread."""
    memo: list[Any] = []
    pushed: list[Any] = []  # what each opcode left on top: MEMOIZE follows its object
    found, opcodes = set(), set()
    for opcode, arg, _ in pickletools.genops(data):
        opcodes.add(opcode.name)
        if opcode.name == "MEMOIZE":
            memo.append(pushed[-1])
        elif opcode.name in ("BINGET", "LONG_BINGET"):
            pushed.append(memo[arg])
        elif opcode.name == "STACK_GLOBAL":
            found.add(f"{pushed[-2]} {pushed[-1]}")
            pushed.append(None)
        elif opcode.name in ("GLOBAL", "INST"):
            found.add(arg)
            pushed.append(None)
        elif opcode.name != "FRAME":
            pushed.append(arg if isinstance(arg, str) else None)
    return found, opcodes


def marker_payload(kind: str, marker: Path) -> Any:
    """An object whose unpickling would create ``marker`` (by ``kind``'s global)."""
    calls = {
        "os.system": (os.system, (f"touch '{marker}'",)),
        "builtins.open": (builtins.open, (str(marker), "w")),
        "builtins.eval": (builtins.eval, (f"open({str(marker)!r}, 'w')",)),
        "builtins.exec": (builtins.exec, (f"open({str(marker)!r}, 'w').close()",)),
    }

    class Payload:
        def __reduce__(self) -> Any:
            return calls[kind]

    return Payload()


PAYLOADS = ("os.system", "builtins.open", "builtins.eval", "builtins.exec")


# --- the writer is faithful ---------------------------------------------------------


def test_written_file_has_the_handbook_files_globals_and_opcodes():
    # 40 rows: enough bytes a column for BINBYTES, as a real day's 9,500 rows
    found, opcodes = globals_and_opcodes(dump(frame_of(day_rows("2018-04-01", 0, count=40))))
    assert found == HANDBOOK_GLOBALS
    assert opcodes == HANDBOOK_OPCODES


# --- reading ------------------------------------------------------------------------


def test_written_day_reads_back(tmp_path):
    path = write_day(tmp_path / "2018-04-01.pkl", day_rows("2018-04-01", 10))
    assert read_day(path) == [
        Transaction(
            transaction_id=str(10 + i),
            user_id="596",
            amount=57.16,
            timestamp=1522540800.0 + 60 * i,  # 2018-04-01T00:00:00Z + i minutes
            merchant_id="3156",
            label=int(i > 0),
            anomaly_kind=SCENARIO_NAMES.get(i),
        )
        for i in range(4)
    ]


def test_values_keep_the_files_row_order_and_types(tmp_path):
    rows = [
        tx_row(TRANSACTION_ID=7, CUSTOMER_ID=1, TERMINAL_ID=2, TX_AMOUNT=220.01),
        tx_row(TRANSACTION_ID=3, CUSTOMER_ID=4999, TERMINAL_ID=0, TX_AMOUNT=1),
    ]
    first, second = read_day(write_day(tmp_path / "d.pkl", rows))
    assert (first.transaction_id, first.user_id, first.merchant_id) == ("7", "1", "2")
    assert (second.transaction_id, second.user_id, second.merchant_id) == ("3", "4999", "0")
    assert type(second.amount) is float
    assert second.amount == 1.0
    assert first.to_dict()["timestamp"] == "2018-04-01T00:00:31Z"


def test_zero_amount_is_accepted(tmp_path):
    (tx,) = read_day(write_day(tmp_path / "d.pkl", [tx_row(TX_AMOUNT=0.0)]))
    assert tx.amount == 0.0


def test_an_empty_day_reads_as_no_transactions(tmp_path):
    assert read_day(write_day(tmp_path / "d.pkl", [])) == []


def test_newer_names_are_admitted(tmp_path):
    # numpy 2's numpy._core names, protocol 5's _frombuffer, a RangeIndex, "_mgr".
    rows = day_rows("2018-04-02", 0)
    data = dump(frame_of(rows, modern=True), modern=True)
    found, _ = globals_and_opcodes(data)
    assert {"numpy._core.numeric _frombuffer", "pandas.core.indexes.range RangeIndex"} <= found
    (tmp_path / "d.pkl").write_bytes(data)
    assert read_day(tmp_path / "d.pkl") == read_day(write_day(tmp_path / "old.pkl", rows))


@pytest.mark.parametrize("modern", [False, True])
def test_blocks_in_fortran_order_are_read(tmp_path, modern):
    rows = [tx_row(TRANSACTION_ID=i, CUSTOMER_ID=10 + i, TX_FRAUD=i % 2) for i in range(5)]
    data = dump(frame_of(rows, modern=modern, fortran=True), modern=modern)
    (tmp_path / "f.pkl").write_bytes(data)
    txs = read_day(tmp_path / "f.pkl")
    assert [(tx.transaction_id, tx.user_id, tx.label) for tx in txs] == [
        (str(i), str(10 + i), i % 2) for i in range(5)
    ]
    assert txs == read_day(write_day(tmp_path / "c.pkl", rows))


# --- refusing what could run code -----------------------------------------------------


@pytest.mark.parametrize("kind", PAYLOADS)
def test_the_payloads_do_run_under_plain_pickle(tmp_path, kind):
    # The control: what the next tests refuse would have run.
    if kind == "os.system" and os.name != "posix":
        pytest.skip("touch is a POSIX command")
    marker = tmp_path / "ran"
    result = pickle.loads(pickle.dumps(marker_payload(kind, marker)))
    if hasattr(result, "close"):  # open and eval return the file they opened
        result.close()
    assert marker.exists()


@pytest.mark.parametrize("kind", PAYLOADS)
@pytest.mark.parametrize("where", ["alone", "in_attrs", "in_object_block"])
def test_a_forbidden_global_is_refused_and_does_not_run(tmp_path, kind, where):
    marker = tmp_path / "ran"
    payload = marker_payload(kind, marker)
    if where == "alone":
        data = pickle.dumps(payload, protocol=4)
    elif where == "in_attrs":
        data = dump(DataFrame(frame_of([tx_row()]).manager, attrs={"note": payload}))
    else:  # a numpy object array unpickles its elements: one of them the payload
        data = dump(frame_of([tx_row(CUSTOMER_ID=payload)]))
    path = tmp_path / "2018-04-01.pkl"
    path.write_bytes(data)
    named = globals_and_opcodes(data)[0] - HANDBOOK_GLOBALS
    assert len(named) == 1  # the payload's global, e.g. "posix system"
    with pytest.raises(HandbookFileError) as info:
        read_day(path)
    message = str(info.value)
    assert str(path) in message
    assert f"refused global {named.pop().replace(' ', '.')}" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    ("element", "cause"),
    [
        (slice(1, 2), "numpy object array holding a slice"),
        ([1, 2], "numpy object array holding a list"),
        ((1, 2), "numpy object array holding a tuple"),
        (b"596", "numpy object array holding a bytes"),
        (1j, "refused global builtins.complex"),
        (np.float64(1.5), "refused global numpy._core.multiarray.scalar"),
    ],
)
def test_an_object_array_holding_more_than_plain_values_is_refused(tmp_path, element, cause):
    path = tmp_path / "d.pkl"
    path.write_bytes(dump(frame_of([tx_row(TERMINAL_ID=element)])))
    with pytest.raises(HandbookFileError, match=re.escape(cause)):
        read_day(path)


def test_an_array_of_another_dtype_is_refused(tmp_path):
    frame = frame_of([tx_row()])
    frame.manager.state[3]["0.14.1"]["blocks"][1]["values"] = np.array([[1j]])
    path = tmp_path / "d.pkl"
    path.write_bytes(dump(frame))
    with pytest.raises(HandbookFileError, match="unsupported numpy dtype 'c16'"):
        read_day(path)


def test_stand_in_classes_cannot_be_altered_by_a_file():
    # BUILD with (None, {"manager": "x"}) on the admitted class Index.
    data = (
        b"\x80\x04\x8c\x18pandas.core.indexes.base\x8c\x05Index\x93"
        b"N}\x8c\x07manager\x8c\x01xs\x86b."
    )
    with pytest.raises(PickleRefused, match="setting manager on _Index"):
        load_dataframe(data)
    assert not hasattr(restricted_pickle._Index, "manager")


# --- refusing what is not a daily file -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"", "not a readable pickle"),
        (b"not a pickle at all", "not a readable pickle"),
        (pickle.dumps({"TX_AMOUNT": [1.0]}), "holds a dict, not a DataFrame"),
    ],
)
def test_garbage_is_refused(tmp_path, content, cause):
    path = tmp_path / "2018-04-01.pkl"
    path.write_bytes(content)
    with pytest.raises(HandbookFileError, match=cause) as info:
        read_day(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_a_truncated_file_is_refused(tmp_path, keep):
    data = dump(frame_of(day_rows("2018-04-01", 0)))
    path = tmp_path / "d.pkl"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(HandbookFileError, match="not a readable pickle"):
        read_day(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(HandbookFileError, match="cannot be read"):
        read_day(tmp_path / "2018-04-01.pkl")


@pytest.mark.parametrize("column", ["TX_FRAUD", "TX_DATETIME", "CUSTOMER_ID"])
def test_a_missing_column_is_refused(tmp_path, column):
    path = write_day(tmp_path / "d.pkl", [tx_row(**{column: ...})])
    with pytest.raises(HandbookFileError, match=f"missing column\\(s\\) {column}$"):
        read_day(path)


def test_the_derived_time_columns_are_not_needed(tmp_path):
    path = write_day(tmp_path / "d.pkl", [tx_row(TX_TIME_SECONDS=..., TX_TIME_DAYS=...)])
    assert len(read_day(path)) == 1


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"TX_AMOUNT": -0.01}, "TX_AMOUNT must be in 0"),
        ({"TX_AMOUNT": float("nan")}, "TX_AMOUNT must be a finite number"),
        ({"TX_AMOUNT": float("inf")}, "TX_AMOUNT must be a finite number"),
        ({"TX_FRAUD": 2}, "TX_FRAUD must be 0 or 1"),
        ({"TX_FRAUD_SCENARIO": 4}, "TX_FRAUD_SCENARIO must be 0, 1, 2 or 3"),
        ({"TX_FRAUD_SCENARIO": -1}, "TX_FRAUD_SCENARIO must be 0, 1, 2 or 3"),
        ({"TX_DATETIME": np.datetime64("NaT", "ns")}, "TX_DATETIME must be within 2000-2100"),
        ({"CUSTOMER_ID": 12.0}, "CUSTOMER_ID must be an integer or short text"),
        ({"TERMINAL_ID": ""}, "TERMINAL_ID must be an integer or short text"),
        ({"CUSTOMER_ID": None}, "CUSTOMER_ID must be an integer or short text"),
    ],
)
def test_a_bad_value_is_refused_naming_file_and_row(tmp_path, change, cause):
    path = write_day(tmp_path / "d.pkl", [tx_row(), tx_row(), tx_row(**change)])
    with pytest.raises(HandbookFileError) as info:
        read_day(path)
    assert str(info.value).startswith(f"{path}: row 2: {cause}")


# --- read_days --------------------------------------------------------------------------


@pytest.fixture
def days_dir(tmp_path):
    # Written out of order, with files that are not daily files beside them.
    for n, day in enumerate(["2018-04-03", "2018-04-01", "2018-04-02", "2018-04-10"]):
        write_day(tmp_path / f"{day}.pkl", day_rows(day, 100 * n, count=2))
    (tmp_path / "README.txt").write_text("not a day")
    (tmp_path / "2018-04-04.pkl.bak").write_bytes(b"junk")
    (tmp_path / "2018-4-5.pkl").write_bytes(b"junk")
    (tmp_path / "2018-04-06.pkl").mkdir()
    return tmp_path


def days_of(transactions):
    return [tx.to_dict()["timestamp"][:10] for tx in transactions]


def test_read_days_reads_every_day_in_date_order(days_dir):
    txs = list(read_days(days_dir))
    assert days_of(txs) == [d for d in ("2018-04-01", "2018-04-02", "2018-04-03", "2018-04-10")
                            for _ in range(2)]  # fmt: skip
    assert [tx.transaction_id for tx in txs[:2]] == ["100", "101"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2018-04-02", "2018-04-03", ["2018-04-02", "2018-04-03"]),
        ("2018-04-02", None, ["2018-04-02", "2018-04-03", "2018-04-10"]),
        (None, "2018-04-01", ["2018-04-01"]),
        ("2018-04-04", "2018-04-10", ["2018-04-10"]),
        ("2018-04-03", "2018-04-03", ["2018-04-03"]),
    ],
)
def test_read_days_start_and_end_are_inclusive(days_dir, start, end, expected):
    assert sorted(set(days_of(read_days(days_dir, start, end)))) == expected


@pytest.mark.parametrize(
    ("start", "end", "cause"),
    [
        ("2018-04-04", "2018-04-09", "no daily file"),
        ("2018-04-03", "2018-04-02", "no daily file"),
        ("2018-13-01", None, "not an ISO date"),
        (None, "yesterday", "not an ISO date"),
    ],
)
def test_read_days_refuses_at_once(days_dir, start, end, cause):
    with pytest.raises(HandbookFileError, match=cause) as info:
        read_days(days_dir, start, end)  # not iterated: the call itself raises
    assert str(info.value).startswith(f"{days_dir}: ")


def test_read_days_refuses_a_missing_directory(tmp_path):
    with pytest.raises(HandbookFileError, match="cannot be listed"):
        read_days(tmp_path / "absent")


def test_read_days_raises_for_a_bad_file_when_it_reaches_it(days_dir):
    (days_dir / "2018-04-02.pkl").write_bytes(
        pickle.dumps(marker_payload("builtins.open", days_dir / "ran"))
    )
    days = read_days(days_dir)
    assert [tx.transaction_id for tx in [next(days), next(days)]] == ["100", "101"]
    with pytest.raises(HandbookFileError, match=r"2018-04-02\.pkl: refused global"):
        next(days)
    assert not (days_dir / "ran").exists()


def test_a_memo_index_out_of_all_proportion_is_refused(tmp_path):
    # 12 bytes that would make the unpickler allocate 1.5 GB for its memo.
    path = tmp_path / "d.pkl"
    path.write_bytes(b"\x80\x04N" + b"r" + (100_000_000).to_bytes(4, "little") + b".")
    with pytest.raises(HandbookFileError, match="memo index 100000000"):
        read_day(path)

"""Read a pickled pandas DataFrame without pandas and without running the file's code.

The threat: unpickling calls whatever globals the byte stream names, with
arguments of its choosing (``os.system``, ``builtins.eval``, ...): a pickle
from outside is a program, not data. Here a stream may name only the globals
in :data:`ADMITTED` - those a DataFrame of numbers, dates and labels needs as
pandas 0.2x wrote it (the handbook's files), plus the same things under the
names numpy 2 and pickle protocol 5 use, and RangeIndex - and each maps to a
small inert stand-in of ours, never to pandas or to the numpy function it
names. Any other global is refused with :class:`PickleRefused` naming it,
before anything is imported, so nothing of the file's choosing runs.

Arrays must have a plain dtype (bool, integer, float, datetime64/timedelta64
in s/ms/us/ns, fixed-width bytes or text); their bytes are decoded by
``numpy.frombuffer`` only after the dtype and the length are checked. A numpy
object array normally holds arbitrary unpickled objects, but pandas writes
column labels and mixed columns that way (the handbook's ids among them), so
one is admitted only when every element is a plain ``int``, ``float``,
``str``, ``bool`` or ``None``. Not admitted: the ``DatetimeArray`` objects
newer pandas pickles datetime columns as, and pandas Block objects
(``_unpickle_block``), which a DataFrame's pickle does not hold.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

__all__ = ["Column", "PickleRefused", "Table", "load_dataframe"]


class PickleRefused(ValueError):
    """The bytes are not a DataFrame pickle that can be read safely; the message says why."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: numpy's dtype ``kind`` letter and its values as Python scalars.

    Datetimes (kind ``M``) are integer counts of ``unit`` since the epoch.
    """

    kind: str
    values: list[Any]
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """The columns of a DataFrame by name, each ``n_rows`` long, in the file's row order."""

    columns: dict[str, Column]
    n_rows: int


# --- numpy stand-ins -------------------------------------------------------

_PLAIN_TYPESTR: Final = re.compile(r"([biuf][1248]|[SU][1-9][0-9]{0,5}|[Mm]8|O[48])")
_TIME_UNITS: Final = frozenset({"s", "ms", "us", "ns"})
# The element types an object array may hold: inert values pickle builds itself.
_SCALARS: Final = (int, float, str, bool, type(None))


class _Sealed(type):
    """Stand-in classes a stream names: BUILD may set attributes on what it is
    given, and these classes outlive one file, so they refuse it."""

    def __setattr__(cls, name: str, value: Any) -> None:
        raise PickleRefused(f"setting {name[:40]} on {cls.__name__}")


class _Call:
    """An admitted function, which BUILD cannot change as it could a function's attributes."""

    __slots__ = ("_function",)

    def __init__(self, function: Any) -> None:
        object.__setattr__(self, "_function", function)

    def __setattr__(self, name: str, value: Any) -> None:
        raise PickleRefused(f"setting {name[:40]} on {self._function.__name__}")

    def __call__(self, *args: Any) -> Any:
        return self._function(*args)


class _DType(metaclass=_Sealed):
    """What ``numpy.dtype(typestr, align, copy)`` plus its pickled state describe."""

    kind: str = ""
    numpy: np.dtype[Any] | None = None  # None for object arrays
    unit: str | None = None

    def __init__(self, typestr: str) -> None:
        self.typestr = typestr

    def __setstate__(self, state: Any) -> None:
        # numpy's dtype state: (version, byteorder, subarray, names, fields,
        # elsize, alignment, flags[, metadata]); structured dtypes refused.
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise PickleRefused(f"unexpected numpy dtype state {state!r:.80}")
        byteorder, subarray, names, fields, elsize = state[1:6]
        if byteorder not in ("<", ">", "|", "=") or (subarray, names, fields) != (None,) * 3:
            raise PickleRefused(f"unsupported numpy dtype {self.typestr} {state!r:.80}")
        self.kind, self.numpy, self.unit = self.typestr[0], None, None
        if self.kind == "O":
            return  # no numpy dtype: the elements are checked one by one
        text = f"{byteorder}{self.typestr}"
        if self.kind in "Mm":
            self.unit = _datetime_unit(state[8] if len(state) == 9 else None)
            text = f"{text}[{self.unit}]"
        dtype = np.dtype(text)  # built from our fixed vocabulary only
        if elsize not in (-1, dtype.itemsize):
            raise PickleRefused(f"numpy dtype {text} with element size {elsize!r:.20}")
        self.numpy = dtype


def _datetime_unit(metadata: Any) -> str:
    # (metadata dict or None, (unit, multiplier, 1, 1)), e.g. ({}, (b'ns', 1, 1, 1)).
    try:
        unit, multiplier = metadata[1][0].decode("ascii"), metadata[1][1]
    except (TypeError, IndexError, AttributeError, UnicodeDecodeError):
        raise PickleRefused(f"unexpected datetime64 metadata {metadata!r:.80}") from None
    if unit not in _TIME_UNITS or multiplier != 1:
        raise PickleRefused(f"unsupported datetime64 unit {metadata!r:.80}")
    return str(unit)


def _dtype(typestr: Any, *flags: Any) -> _DType:
    # numpy.dtype(typestr, align, copy); the flags change nothing we read.
    if not isinstance(typestr, str) or not _PLAIN_TYPESTR.fullmatch(typestr):
        raise PickleRefused(f"unsupported numpy dtype {typestr!r:.40}")
    return _DType(typestr)


class _Array(metaclass=_Sealed):
    """A numpy array: its shape, and its values as a numpy array (a list for object).

    The dtype's kind and unit are copied when the array is filled: a later
    BUILD on the dtype must not change what the bytes were checked against.
    """

    shape: tuple[int, ...] | None = None
    kind: str = ""
    unit: str | None = None
    data: Any = None

    def __setstate__(self, state: Any) -> None:
        # ndarray state: (version, shape, dtype, is_fortran, raw bytes or object list).
        if not isinstance(state, tuple) or len(state) != 5 or state[0] != 1:
            raise PickleRefused(f"unexpected numpy array state {state!r:.80}")
        self.fill(state[4], state[2], state[1], "F" if state[3] else "C")

    def fill(self, raw: Any, dtype: Any, shape: Any, order: Any) -> None:
        """Check ``raw`` against dtype and shape, then keep the decoded values."""
        if not isinstance(dtype, _DType) or not dtype.kind or order not in ("C", "F"):
            raise PickleRefused("numpy array without a plain dtype")
        if not (isinstance(shape, tuple) and 1 <= len(shape) <= 2):
            raise PickleRefused(f"numpy array of shape {shape!r:.40}: only 1 or 2 dimensions")
        if not all(type(n) is int and n >= 0 for n in shape):
            raise PickleRefused(f"numpy array of shape {shape!r:.40}")
        size = shape[0] * (shape[1] if len(shape) == 2 else 1)
        if dtype.numpy is None:  # object: a list of what the stream built
            if not isinstance(raw, list) or len(raw) != size:
                raise PickleRefused("numpy object array whose elements do not match its shape")
            bad = next((v for v in raw if type(v) not in _SCALARS), None)
            if bad is not None:
                raise PickleRefused(f"numpy object array holding a {type(bad).__name__}")
            # numpy lists the elements in C order even when is_fortran is set.
            data: Any = list(raw)
        else:
            if not isinstance(raw, bytes | bytearray):
                raise PickleRefused(f"numpy {dtype.typestr} array without its bytes")
            if len(raw) != size * dtype.numpy.itemsize:
                raise PickleRefused(f"numpy array of shape {shape} has {len(raw)} bytes")
            data = np.frombuffer(raw, dtype=dtype.numpy).reshape(shape, order=order)
        self.shape, self.kind, self.unit, self.data = shape, dtype.kind, dtype.unit, data

    def row(self, i: int) -> Column:
        """Row ``i`` of a 2-d array (a 1-d array's only row is 0) as a :class:`Column`."""
        if self.shape is None:
            raise PickleRefused("numpy array that was never filled")
        if self.kind == "O":
            cols = self.shape[-1]
            return Column("O", self.data[i * cols : (i + 1) * cols])
        line = self.data if len(self.shape) == 1 else self.data[i]
        if self.kind in "Mm":  # counts of the unit; NaT is the smallest int64
            return Column(self.kind, line.astype(np.int64).tolist(), self.unit)
        return Column(self.kind, line.tolist())


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> _Array:
    # numpy's _reconstruct(ndarray, (0,), b"b") makes an empty array for BUILD to fill.
    if cls is not _Array:
        raise PickleRefused(f"numpy _reconstruct of {cls!r:.60}")
    return _Array()


def _frombuffer(raw: Any, dtype: Any, shape: Any, order: Any) -> _Array:
    # numpy's pickle protocol 5 form: _frombuffer(buffer, dtype, shape, order).
    array = _Array()
    array.fill(raw, dtype, shape, order)
    return array


# --- pandas stand-ins ------------------------------------------------------


class _Labels:
    """An Index: its length and, unless it is a RangeIndex, its labels."""

    def __init__(self, length: int, labels: _Array | None) -> None:
        self.length, self.labels = length, labels

    def __setstate__(self, state: Any) -> None:
        raise PickleRefused("a BUILD on a pandas Index")


class _IndexClass(metaclass=_Sealed):
    """A pandas Index class, usable only as the first argument of ``_new_Index``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise PickleRefused(f"pandas {cls.__name__[1:]} built other than by _new_Index")


class _Index(_IndexClass):
    """pandas.core.indexes.base.Index"""


class _Int64Index(_IndexClass):
    """pandas.core.indexes.numeric.Int64Index"""


class _RangeIndex(_IndexClass):
    """pandas.core.indexes.range.RangeIndex"""


def _new_index(cls: Any, state: Any) -> _Labels:
    if not isinstance(state, dict):
        raise PickleRefused(f"pandas _new_Index with state {state!r:.60}")
    if cls is _RangeIndex:  # {"name", "start", "stop", "step"}: never materialised
        start, stop, step = state.get("start", 0), state.get("stop"), state.get("step", 1)
        if not all(type(v) is int for v in (start, stop, step)) or step == 0:
            raise PickleRefused(f"pandas RangeIndex {start!r:.20}:{stop!r:.20}:{step!r:.20}")
        return _Labels(len(range(start, stop, step)), None)
    data = state.get("data")
    if cls not in (_Index, _Int64Index) or not isinstance(data, _Array):
        raise PickleRefused("pandas _new_Index without an Index class and its data")
    if data.shape is None or len(data.shape) != 1:
        raise PickleRefused("pandas Index whose data is not a 1-d array")
    if cls is _Int64Index and data.kind not in "iu":
        raise PickleRefused(f"pandas Int64Index of kind {data.kind}")
    return _Labels(data.shape[0], data)


class _BlockManager(metaclass=_Sealed):
    """A pandas BlockManager: axes (column labels, row labels) and 2-d blocks of columns."""

    axes: Any = None
    blocks: Any = None

    def __setstate__(self, state: Any) -> None:
        # pandas' __getstate__ since 0.14.1 returns (axes, block values, block
        # items, {"0.14.1": {"axes": [...], "blocks": [{"values", "mgr_locs"}]}});
        # pandas' own __setstate__ reads only that dict, and so do we.
        try:
            current = state[3]["0.14.1"]
            self.axes, self.blocks = list(current["axes"]), list(current["blocks"])
        except (TypeError, IndexError, KeyError):
            raise PickleRefused("pandas BlockManager state without its 0.14.1 layout") from None

    def table(self) -> Table:
        """The columns by name, checked against the axes."""
        if self.axes is None or len(self.axes) != 2:
            raise PickleRefused("pandas BlockManager without two axes")
        items, index = self.axes
        if not isinstance(items, _Labels) or items.labels is None or not isinstance(index, _Labels):
            raise PickleRefused("pandas BlockManager axes are not Index objects")
        names = items.labels.row(0).values
        if not all(type(n) is str for n in names) or len(set(names)) != len(names):
            raise PickleRefused("column labels are not distinct texts")
        found: dict[int, Column] = {}
        for block in self.blocks:
            values = block.get("values") if isinstance(block, dict) else None
            if not isinstance(values, _Array):
                raise PickleRefused("pandas block without a numpy array")
            places = _placement(block.get("mgr_locs"), len(names))
            if values.shape != (len(places), index.length):
                raise PickleRefused(
                    f"block of shape {values.shape} for {len(places)} columns"
                    f" of {index.length} rows"
                )
            for row, place in enumerate(places):
                if place in found:
                    raise PickleRefused(f"column {names[place]!r} in two blocks")
                found[place] = values.row(row)
        if len(found) != len(names):
            raise PickleRefused("columns without values")
        return Table({names[p]: found[p] for p in range(len(names))}, index.length)


def _placement(locs: Any, width: int) -> list[int]:
    # Which columns a block holds: a slice, or a 1-d integer array.
    if isinstance(locs, slice):
        return list(range(*locs.indices(width)))
    if isinstance(locs, _Array) and locs.kind in ("i", "u"):
        places = locs.row(0).values if locs.shape is not None and len(locs.shape) == 1 else None
        if places is not None and all(0 <= p < width for p in places):
            return places
    raise PickleRefused(f"pandas block placement {locs!r:.60}")


class _Frame(metaclass=_Sealed):
    """A pandas DataFrame: its BlockManager, under ``_mgr`` (``_data`` before pandas 1.1)."""

    manager: _BlockManager | None = None

    def __setstate__(self, state: Any) -> None:
        manager = state.get("_mgr", state.get("_data")) if isinstance(state, dict) else None
        if not isinstance(manager, _BlockManager):
            raise PickleRefused("pandas DataFrame without a BlockManager")
        self.manager = manager


# --- the unpickler -------------------------------------------------------------

#: Every global a stream may name, and what it stands for here.
ADMITTED: Final[dict[tuple[str, str], Any]] = {
    ("pandas.core.frame", "DataFrame"): _Frame,
    ("pandas.core.internals.managers", "BlockManager"): _BlockManager,
    ("pandas.core.indexes.base", "_new_Index"): _Call(_new_index),
    ("pandas.core.indexes.base", "Index"): _Index,
    ("pandas.core.indexes.numeric", "Int64Index"): _Int64Index,
    ("pandas.core.indexes.range", "RangeIndex"): _RangeIndex,
    ("numpy.core.multiarray", "_reconstruct"): _Call(_reconstruct),
    ("numpy._core.multiarray", "_reconstruct"): _Call(_reconstruct),
    ("numpy.core.numeric", "_frombuffer"): _Call(_frombuffer),
    ("numpy._core.numeric", "_frombuffer"): _Call(_frombuffer),
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _Call(_dtype),
    ("builtins", "slice"): slice,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # Every global (GLOBAL, STACK_GLOBAL, INST, OBJ) comes through here; the
        # name is looked up in our table, never imported.
        try:
            return ADMITTED[(module, name)]
        except (KeyError, TypeError):
            raise PickleRefused(
                f"refused global {str(module)[:100]}.{str(name)[:100]}:"
                " not one of the pandas/numpy names a DataFrame file needs"
            ) from None


def load_dataframe(data: bytes) -> Table:
    """The columns of the pickled pandas DataFrame in ``data``, without running its code.

    Raises :class:`PickleRefused` for a global outside :data:`ADMITTED`, an
    array of another dtype, and any bytes that are not such a DataFrame.

    >>> load_dataframe(pickle.dumps(print))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    models.restricted_pickle.PickleRefused: refused global builtins.print: not one of ...
    """
    stream = io.BytesIO(data)
    try:
        _check_memo_indices(data)
        frame = _RestrictedUnpickler(stream).load()
        if not isinstance(frame, _Frame) or frame.manager is None:
            raise PickleRefused(f"the pickle holds a {type(frame).__name__}, not a DataFrame")
        if stream.read(1):
            raise PickleRefused("bytes after the end of the pickle")
        return frame.manager.table()
    except PickleRefused:
        raise
    except Exception as exc:  # whatever else bad bytes cause: only our code ran
        raise PickleRefused(f"not a readable pickle ({type(exc).__name__}: {exc!s:.200})") from None


def _check_memo_indices(data: bytes) -> None:
    # The unpickler grows its memo to twice any index a PUT names, so a dozen
    # bytes could make it allocate gigabytes. Writers number the entries 0, 1,
    # 2, ... (protocol 4 and 5 do it implicitly, with MEMOIZE), so an index
    # beyond the count of opcodes so far is refused. Read without unpickling.
    for count, (opcode, arg, _) in enumerate(pickletools.genops(data)):
        if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and arg > count:
            raise PickleRefused(f"memo index {arg} at opcode {count}")

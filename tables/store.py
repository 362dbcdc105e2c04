"""Writing a Faust table a batch at a time: RocksDB by partition, the changelog batched.

Faust's ``table[key] = value`` sends one changelog message per write
through its producer buffer, with a callback and a RocksDB write of the
offset per message, and finds the partition from the current event: per
transaction, that cost more than scoring it. :class:`TableStore` writes the
same RocksDB databases and the same changelog topic in the same format, so
Faust's recovery and standby replicas work unchanged; it records the
delivered changelog offset in RocksDB at most once a second per partition
instead (``RECORD_OFFSET_EVERY``).

It uses private parts of Faust's stores (``_db_for_partition`` and
``set_persisted_offset`` of the RocksDB store, ``data`` of the memory
store), checked at start-up (app/patches/upstream.py) and by unit tests
against Faust's own stores. Any other store is refused with an error
naming it, rather than written in a way it may not have.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from faust.stores.memory import Store as MemoryStore
from faust.stores.rocksdb import Store as RocksDBStore
from faust.types import TP

from app.batching import BatchedSends
from app.errors import ConfigurationError

#: Seconds between two records of a partition's delivered changelog offset.
RECORD_OFFSET_EVERY = 1.0


def store_kind(store: Any) -> str:
    """``rocksdb`` or ``memory``: which of Faust's stores ``store`` is.

    Raises :class:`ConfigurationError` for any other (``APP_STORE``).
    """
    if isinstance(store, RocksDBStore):
        return "rocksdb"
    if isinstance(store, MemoryStore):
        return "memory"
    raise ConfigurationError(
        f"APP_STORE: the users table needs rocksdb:// or memory://, not {type(store).__name__}"
    )


class TableStore:
    """An agent's access to a table of JSON values: by partition, changelog in batches."""

    def __init__(
        self, table: Any, sends: BatchedSends, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store: Any = table.data
        self._changelog = table.changelog_topic.get_topic_name()
        self._sends = sends
        self._rocksdb = store_kind(self._store) == "rocksdb"
        self._clock = clock
        self._recorded_at: dict[int, float] = {}  # partition -> when its offset was last recorded
        sends.on_delivery(self._changelog, self._persisted)

    def get(self, partition: int, key: bytes) -> Any:
        """The value of ``key`` in ``partition``, decoded, or None if never stored."""
        if self._rocksdb:
            raw = self._store._db_for_partition(partition).get(key)
        else:
            raw = self._store.data.get(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, partition: int, key: bytes, state: Any) -> None:
        """Store ``state`` now; its changelog message goes with the next ``send``."""
        value = orjson.dumps(state)
        if self._rocksdb:
            self._store._db_for_partition(partition).put(key, value)
        else:
            self._store.data[key] = value
        self._sends.add(self._changelog, partition, key, value)

    def _persisted(self, topic: str, partition: int, offset: int) -> None:
        # What Faust's per-message changelog callback does, at most once per
        # partition and RECORD_OFFSET_EVERY: recovery then resumes reading the
        # changelog after this offset. One more RocksDB write per partition and
        # batch took 2% of a worker's time at 2,000 tx/s. An offset recorded
        # late only makes recovery read again messages whose values it already
        # has, the newest of each key last; one recorded early would skip some.
        if not self._rocksdb:
            return
        now = self._clock()
        if now - self._recorded_at.get(partition, -RECORD_OFFSET_EVERY) >= RECORD_OFFSET_EVERY:
            self._store.set_persisted_offset(TP(topic, partition), offset)
            self._recorded_at[partition] = now

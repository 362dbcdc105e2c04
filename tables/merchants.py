"""The ``merchants`` table: each merchant's fraud record (models.merchant_risk).

Keys are the merchant_id's UTF-8 bytes, the key of ``merchant-activity``,
which repartitions transactions and labels by merchant; values are the
record as JSON bytes. Written a batch at a time like ``users``
(:mod:`tables.store`), changelogged, in RocksDB.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from app import app
from app.batching import BatchedSends
from models.merchant_risk import MerchantState
from tables.options import rocksdb_options
from tables.store import TableStore

merchants = app.Table(
    "merchants",
    default=None,
    key_type=bytes,
    value_type=bytes,
    options=rocksdb_options(),
    help="Per-merchant transactions per day and confirmed frauds (see models.merchant_risk).",
)


def get_merchant(merchant_key: bytes) -> MerchantState | None:
    """The stored record of the merchant whose key is ``merchant_key``, if any (web views)."""
    raw = merchants.get(merchant_key)
    return None if raw is None else orjson.loads(raw)


class MerchantStore(TableStore):
    """The merchants agent's access to ``merchants`` (see :class:`tables.store.TableStore`)."""

    def __init__(self, sends: BatchedSends, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(merchants, sends, clock)

    def get(self, partition: int, key: bytes) -> MerchantState | None:
        """The merchant's record in ``partition``, or None if never seen."""
        return super().get(partition, key)

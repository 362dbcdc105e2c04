"""The ``users`` table: each user's profile and velocity state, in one value.

Keys are the user_id's UTF-8 bytes, exactly the ``transactions`` message key,
so that :meth:`faust.App.table_route` hashes them to the partition that holds
the user. Values are JSON bytes ``{"profile": ..., "velocity": ...}``: one
value per user means one RocksDB write and one changelog message per user
and batch, however many transactions the batch holds for them.

The agent reads and writes it through :class:`UserStore`, by partition and
in batches (:mod:`tables.store`); the web views read it with :func:`get_user`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypedDict

import orjson

from app import app
from app.batching import BatchedSends
from models.profile import Profile
from models.velocity import Velocity
from tables.options import rocksdb_options
from tables.store import TableStore

users = app.Table(
    "users",
    default=None,
    key_type=bytes,
    value_type=bytes,
    options=rocksdb_options(),
    help="Per-user profile and velocity state (see models.profile, models.velocity).",
)

#: Held by each writer of ``users`` (the scoring and labels agents) from reading a
#: user's state until its changelog message is with the producer: the changelog then
#: keeps the order of the writes, and recovery ends with the newest state.
users_lock = asyncio.Lock()


class UserState(TypedDict):
    """What the table holds for one user."""

    profile: Profile
    velocity: Velocity


def get_user(user_key: bytes) -> UserState | None:
    """The stored state of the user whose message key is ``user_key``, if any (web views)."""
    raw = users.get(user_key)
    return None if raw is None else orjson.loads(raw)


class UserStore(TableStore):
    """The scoring agent's access to ``users`` (see :class:`tables.store.TableStore`)."""

    def __init__(self, sends: BatchedSends, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(users, sends, clock)

    def get(self, partition: int, key: bytes) -> UserState | None:
        """The user's state in ``partition``, or None if never seen."""
        return super().get(partition, key)

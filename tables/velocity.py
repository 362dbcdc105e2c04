"""The ``velocity`` table: each user's recent activity in event-time windows.

Keyed like :mod:`tables.profiles` (the user_id's UTF-8 bytes); values are
JSON bytes of :mod:`models.velocity` state.
"""

from __future__ import annotations

import orjson

from app import app
from models.velocity import Velocity
from tables.options import rocksdb_options

velocity = app.Table(
    "velocity",
    default=None,
    key_type=bytes,
    value_type=bytes,
    options=rocksdb_options(),
    help="Per-user sliding windows over event time (see models.velocity).",
)


def get_velocity(user_key: bytes) -> Velocity | None:
    """The stored velocity state of the user whose message key is ``user_key``, if any."""
    raw = velocity.get(user_key)
    return None if raw is None else orjson.loads(raw)


def put_velocity(user_key: bytes, state: Velocity) -> None:
    """Store ``state`` (and send it to the changelog)."""
    velocity[user_key] = orjson.dumps(state)

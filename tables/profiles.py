"""The ``profiles`` table: what txwatch has learnt of each user.

Keys are the user_id's UTF-8 bytes, exactly the ``transactions`` message key,
so that :meth:`faust.App.table_route` hashes them to the partition that holds
the user. Values are JSON bytes, encoded and decoded here once per event.
"""

from __future__ import annotations

import orjson

from app import app
from models.profile import Profile
from tables.options import rocksdb_options

profiles = app.Table(
    "profiles",
    default=None,
    key_type=bytes,
    value_type=bytes,
    options=rocksdb_options(),
    help="Per-user behaviour profile (see models.profile).",
)


def get_profile(user_key: bytes) -> Profile | None:
    """The stored profile of the user whose message key is ``user_key``, if any."""
    raw = profiles.get(user_key)
    return None if raw is None else orjson.loads(raw)


def put_profile(user_key: bytes, profile: Profile) -> None:
    """Store ``profile`` (and send it to the changelog)."""
    profiles[user_key] = orjson.dumps(profile)

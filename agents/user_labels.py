"""Labels into users' state, on the worker that holds the user.

``labels`` is keyed by ``user_id`` like ``transactions``; with as many
partitions, Faust's assignor gives partition *p* of both topics to the same
worker (topics a worker subscribes to with equal partition counts are
co-partitioned), so the labels agent finds the user's state in partition
*p* of the ``users`` table, on its own disk. What a label does there is
:mod:`models.user_labels`: the card stays suspect for two weeks after a
confirmed fraud, a held transaction is settled.

When the partition counts differ, no label can be routed to its user's
state: the worker says so at start and in ``GET /stats``
(``feedback.users``), and labels still reach PostgreSQL and the merchants.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app.batching import BatchedSends
from app.counters import counters
from models.labels import Label
from models.profile import upgrade
from models.user_labels import apply_user_label
from tables.users import UserStore, users_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Routed:
    """A valid label and where it arrived: its user's partition and key."""

    partition: int
    key: bytes
    label: Label


class UserLabels:
    """Applies labels to the ``users`` table, a batch at a time."""

    def __init__(self, sends: BatchedSends, labels_partitions: int, users_partitions: int) -> None:
        self.sends = sends
        self.users = UserStore(sends)
        self.routed = labels_partitions == users_partitions
        if not self.routed:
            counters.users_feedback = (
                f"off: labels has {labels_partitions} partitions and transactions "
                f"{users_partitions}; create labels with {users_partitions} partitions"
            )
            logger.error("labels cannot reach users' state: %s", counters.users_feedback)

    async def apply(self, labels: Sequence[Routed]) -> None:
        """Record each label in its user's state and send the changed states' changelog."""
        if not self.routed or not labels:
            return
        async with users_lock:
            for routed in labels:
                state = self.users.get(routed.partition, routed.key)
                if state is None:
                    # Not scored here yet (or never): nothing learnt to correct.
                    counters.labels_unknown_user += 1
                    continue
                if apply_user_label(upgrade(state["profile"]), routed.label):
                    self.users.put(routed.partition, routed.key, state)
                    counters.labels_to_users += 1
            await self.sends.send()

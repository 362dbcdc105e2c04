"""Skipping messages this process has already handled.

Faust may hand a stream the same offsets twice, for instance when it seeks
back to the committed offset after recovery while fetched records are still
buffered. State is protected by the offset kept in each profile; this guard
also keeps the outputs (dead letters, scores) from being sent twice by one
process. Across processes, at-least-once delivery still applies.

Both rely on each partition's messages arriving in order: a message seen
ahead of its time would make the ones before it look handled. The
consumer (:mod:`app.consumer`) keeps that true when Faust empties the
streams' buffers.

The guard forgets everything when partitions are assigned: the recovery that
follows can take a table partition back to its changelog, which may lack the
newest states (still being sent when the rebalance began). The replayed
messages must then be learnt again, and the offsets in the state, not this
guard, decide which are new.
"""

from __future__ import annotations


class RedeliveryGuard:
    """Remembers the highest offset handled per partition.

    >>> guard = RedeliveryGuard()
    >>> guard.first_time(0, 5), guard.first_time(0, 5), guard.first_time(0, 6)
    (True, False, True)
    """

    __slots__ = ("_highest",)

    def __init__(self) -> None:
        self._highest: dict[int, int] = {}

    def forget(self) -> None:
        """Forget every offset handled (after a rebalance)."""
        self._highest.clear()

    def first_time(self, partition: int, offset: int) -> bool:
        """True, and remember it, if ``offset`` is newer than any handled in ``partition``."""
        if offset <= self._highest.get(partition, -1):
            return False
        self._highest[partition] = offset
        return True

"""Whether table recovery is making progress: the pure core of the recovery watchdog.

While Faust recovers a table it pauses every stream partition, so a
recovery that stops reading stops the whole worker (issue 23). The
watchdog (:mod:`app.watchdog`) shows a :class:`RecoveryWatch` what
recovery has applied every few seconds; the watch says when no partition
still to be read has moved for longer than its bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stall:
    """Recovery has read nothing new on ``partitions`` for ``seconds``."""

    partitions: tuple[str, ...]
    seconds: float


@dataclass
class RecoveryWatch:
    """Tells a recovery that reads on from one that has stopped for more than ``bound`` seconds.

    >>> watch = RecoveryWatch(bound=60)
    >>> watch.observe(0, in_recovery=True, remaining={"users-changelog:3": 200}) is None
    True
    >>> watch.observe(30, in_recovery=True, remaining={"users-changelog:3": 150}) is None
    True
    >>> watch.observe(89, in_recovery=True, remaining={"users-changelog:3": 150}) is None
    True
    >>> watch.observe(91, in_recovery=True, remaining={"users-changelog:3": 150})
    Stall(partitions=('users-changelog:3',), seconds=61)
    >>> watch.observe(120, in_recovery=True, remaining={"users-changelog:3": 150}).seconds
    90
    >>> watch.observe(125, in_recovery=False, remaining={}) is None
    True
    """

    bound: float
    _progress_at: float | None = None
    _remaining: dict[str, int] = field(default_factory=dict)

    def observe(
        self, now: float, *, in_recovery: bool, remaining: Mapping[str, int]
    ) -> Stall | None:
        """Record what recovery has left to read at ``now``; the stall, if there is one.

        ``remaining`` counts the records still to read per partition.
        Progress is any change in it; recovery ending (or not running)
        clears the watch. A stall is reported at every call until then.
        """
        if not in_recovery:
            self._progress_at = None
            self._remaining = {}
            return None
        left = {tp: n for tp, n in remaining.items() if n > 0}
        if self._progress_at is None or left != self._remaining:
            self._progress_at = now
            self._remaining = left
            return None
        waited = now - self._progress_at
        if waited <= self.bound:
            return None
        return Stall(tuple(sorted(left)), round(waited, 1))

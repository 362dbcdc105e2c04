"""Changelog records dropped at a clearing are read again, and late ones left out.

**What went wrong.** Faust empties its queues each time it resumes the
flow (``FlowControlEvent.resume`` clears every queue made with
``clear_on_resume``), the table changelog queue included, and
:class:`app.consumer.Consumer` then ends the batch it is handing over and
seeks back before fetching again. That seek went to the group's committed
offsets, which exist only for stream topics: a changelog partition stayed
where aiokafka had read it, past the records that were cleared or never
handed over. Table recovery counts the records it has applied up to the
partition's high watermark, so when the dropped records were the last ones
it never finished: it logged ``No event received for active tp ...`` every
5 seconds, and as Faust keeps every stream partition paused during
recovery, the worker stopped scoring altogether (issue 23; the same
symptom as Faust's issue #74). It happened when the clearing that starts
recovery's changelog reads ("Resuming flow...") fell while a fetch was in
flight, which a busy machine made likely.

**What this module does.**

- :func:`changelog_positions`: after a clearing, each changelog partition
  recovery reads (actives and standbys) is sought back to just after the
  last offset recovery has applied. Recovery ignores offsets it has already
  applied, so reading one again is harmless.
- A hand-over that had to wait (the changelog queue full, the flow
  suspended) can put its record into the queue just *after* the clearing.
  Applied, it would move recovery's offset past the records cleared before
  it, and those would be skipped when read again. The consumer marks such
  messages with :data:`STALE_GENERATION`, which Faust's streams already
  skip; :class:`ChangelogQueue` skips them for table recovery.
  :class:`TableManager` (the app's ``TableManager`` setting) gives recovery
  that queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.tables import TableManager as FaustTableManager
from faust.types import TP, EventT
from mode.utils.queues import ThrowableQueue

#: A generation no consumer group has: Faust's streams skip messages marked
#: with it, and so does :class:`ChangelogQueue`.
STALE_GENERATION = -1


def changelog_positions(recovery: Any) -> dict[TP, int]:
    """Where each changelog partition ``recovery`` reads must be read from again.

    Just after the last offset recovery has applied, for its active and
    standby partitions; those it has not positioned yet (no offset) are left
    to it.

    >>> from collections import Counter
    >>> from types import SimpleNamespace
    >>> a, s, new = TP("users-changelog", 0), TP("users-changelog", 1), TP("users-changelog", 2)
    >>> recovery = SimpleNamespace(
    ...     active_tps={a, new}, active_offsets=Counter({a: 41, new: None}),
    ...     standby_tps={s}, standby_offsets=Counter({s: -1}))
    >>> sorted(changelog_positions(recovery).items())
    [(TP(topic='users-changelog', partition=0), 42), (TP(topic='users-changelog', partition=1), 0)]
    """
    positions: dict[TP, int] = {}
    for tps, offsets in (
        (recovery.active_tps, recovery.active_offsets),
        (recovery.standby_tps, recovery.standby_offsets),
    ):
        for tp in tps:
            applied = offsets.get(tp)
            if applied is not None:
                # -1: nothing applied yet, read from the partition's start.
                positions[tp] = max(applied + 1, 0)
    return positions


def seek_changelogs(consumer: AIOKafkaConsumer, positions: Mapping[TP, int]) -> list[TP]:
    """Seek ``consumer`` to ``positions`` for the partitions it has assigned; returns those."""
    assigned = consumer.assignment()
    sought = []
    for tp, offset in positions.items():
        aiotp = TopicPartition(tp.topic, tp.partition)
        if aiotp in assigned:
            consumer.seek(aiotp, offset)
            sought.append(tp)
    return sought


class SeeksChangelogsBack:
    """Mixin for Faust's aiokafka consumer thread, above
    :class:`app.patches.rewind_never_committed.RewindingSeeks`: its seek back
    also moves each changelog partition to where table recovery stands."""

    async def _seek_back(self) -> Mapping[TopicPartition, int | None]:
        committed = await super()._seek_back()  # type: ignore[misc]
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]
        seek_changelogs(self._ensure_consumer(), changelog_positions(recovery))  # type: ignore[attr-defined]
        return committed


def mark_stale(messages: Iterable[Any]) -> None:
    """Mark ``messages`` (being handed over at a clearing) for streams and recovery to skip."""
    for message in messages:
        message.generation_id = STALE_GENERATION


class ChangelogQueue(ThrowableQueue):
    """Faust's changelog queue, leaving out events whose message was marked stale."""

    async def get(self) -> EventT:
        """The next event whose message is not stale (waits for one)."""
        while True:
            event = cast(EventT, await super().get())
            if event.message.generation_id != STALE_GENERATION:
                return event


class TableManager(FaustTableManager):
    """Faust's table manager, its recovery reading from a :class:`ChangelogQueue`."""

    @property
    def changelog_queue(self) -> ThrowableQueue:
        """Queue used to buffer changelog events (as Faust's, stale events left out)."""
        if self._changelog_queue is None:
            self._changelog_queue = ChangelogQueue(
                maxsize=self.app.conf.stream_buffer_maxsize,
                flow_control=self.app.flow_control,
                clear_on_resume=True,
            )
        return self._changelog_queue

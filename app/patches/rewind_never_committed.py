"""Never-committed partitions are rewound too.

Faust drops records it has fetched but not handed to an agent whenever the
flow stops (a rebalance, table recovery), and relies on seeking back to the
committed offset afterwards. aiokafka's ``seek_to_committed`` seeks only
partitions that have a committed offset above 0, so on a partition nobody
had committed yet (a new topic, a new consumer group) the dropped records
were skipped for good: the first alerts of a fresh ``alerts`` partition
never reached PostgreSQL. :class:`RewindingSeeks` rewinds such partitions
to their beginning, which is where ``consumer_auto_offset_reset =
"earliest"`` started them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition


async def seek_to_committed_or_beginning(
    consumer: AIOKafkaConsumer, rewinds: Callable[[TopicPartition], bool]
) -> Mapping[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset; those without one
    for which ``rewinds`` is true, to their beginning. Returns the committed offsets."""
    committed = await consumer.seek_to_committed()
    never_committed = [tp for tp, offset in committed.items() if not offset and rewinds(tp)]
    if never_committed:
        await consumer.seek_to_beginning(*never_committed)
    return committed


def rewinds_to_beginning(app: faust.App, topic: str) -> bool:
    """Whether a never-committed partition of ``topic`` is read again from its beginning."""
    # Only stream topics: Faust commits their offsets. Changelog partitions
    # are positioned by table recovery, never by commits; and with "latest"
    # there is no earlier position the group ever stood at.
    return app.conf.consumer_auto_offset_reset == "earliest" and app.topics.acks_enabled_for(topic)


class RewindingSeeks:
    """Mixin for Faust's aiokafka consumer thread: its seek back rewinds never-committed
    stream partitions to their beginning (see the module's docstring)."""

    async def seek_to_committed(self) -> Mapping[TopicPartition, int | None]:
        """Seek every assigned partition back to where this group's processing stands."""
        return await self.call_thread(self._seek_back)  # type: ignore[attr-defined]

    async def _seek_back(self) -> Mapping[TopicPartition, int | None]:
        return await seek_to_committed_or_beginning(
            self._ensure_consumer(),  # type: ignore[attr-defined]
            lambda tp: rewinds_to_beginning(self.app, tp.topic),  # type: ignore[attr-defined]
        )

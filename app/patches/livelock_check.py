"""Faust's livelock check leaves a partition being reset alone.

Every few seconds Faust checks that each partition's events flow
(``AIOKafkaConsumerThread.verify_event_path``), reading its position
without asking whether it has one. Right after a seek to the beginning it
has none until the broker answers, and aiokafka's assertion then crashed
the consumer, and with it the worker, if the check came in between (seen
once in CI, half a second after a worker with fresh partitions was ready).
"""

from __future__ import annotations

from aiokafka import TopicPartition
from faust.types import TP


class SkipsPartitionsBeingReset:
    """Mixin for Faust's aiokafka consumer thread (see the module's docstring)."""

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's check that events flow, skipping a partition whose position is unknown."""
        consumer = self._ensure_consumer()  # type: ignore[attr-defined]
        assignment = consumer._fetcher._subscriptions.subscription.assignment
        aiotp = TopicPartition(tp.topic, tp.partition)
        state = assignment.state_value(aiotp) if assignment else None
        if state is not None and not state.has_valid_position:
            return None  # being reset: nothing to verify yet
        return super().verify_event_path(now, tp)  # type: ignore[misc]

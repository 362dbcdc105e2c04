"""How long the broker holds a fetch is a setting.

Faust gives aiokafka a fixed 1.5 s wait and no minimum size, so a fetch
comes back as soon as one record is there: at a few hundred transactions a
second a worker sends more fetches than it receives transactions, each
costing about a millisecond of Python, and spends most of a core on them. A
larger minimum with a short wait (:class:`FetchPolicy`) trades up to that
wait per fetch for the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer


@dataclass(frozen=True)
class FetchPolicy:
    """How the broker answers a fetch: once ``min_bytes`` are there, or after ``max_wait_ms``.

    The defaults are Faust's: an answer as soon as any record is there.
    """

    min_bytes: int = 1
    max_wait_ms: int = 1500


class FetchesByPolicy:
    """Mixin for Faust's aiokafka consumer thread: fetches by its consumer's ``fetch_policy``."""

    def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
        """Faust's aiokafka consumer, fetching by the :class:`FetchPolicy` of the consumer."""
        consumer = super()._create_worker_consumer(transport)  # type: ignore[misc]
        policy: FetchPolicy = self.consumer.fetch_policy  # type: ignore[attr-defined]
        # Faust fixes the wait at 1.5 s and passes no minimum; aiokafka reads
        # both from these attributes when it starts (pinned by a unit test).
        consumer._fetch_min_bytes = policy.min_bytes
        consumer._fetch_max_wait_ms = policy.max_wait_ms
        return consumer

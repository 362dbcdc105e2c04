"""Per-worker counters shown by the web views.

These are this worker's own figures since it started; cluster-wide figures
come from Kafka or PostgreSQL.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class WorkerCounters:
    """What one worker has done since it started."""

    started_at: float = field(default_factory=time.time)
    processed: int = 0
    skipped_replays: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready snapshot."""
        return {
            "started_at": self.started_at,
            "processed": self.processed,
            "skipped_replays": self.skipped_replays,
            "dead_letters": sum(self.dead_letters.values()),
            "dead_letters_by_reason": dict(self.dead_letters),
        }


counters = WorkerCounters()

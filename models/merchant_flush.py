"""When the scoring agent sends merchants' counts: added up for an interval, sent evenly.

Counts are added up for ``interval`` seconds (one message per merchant,
not per transaction), then sent a share at a time over the next interval,
in proportion to the time gone by. Sent all at once, a minute's counts of a
few thousand merchants reached the merchants agent as one burst that held
the worker's event loop for a few hundred ms, and the scores waiting
behind it made the p99 latency (docs/performance.md).

A merchant's counts must leave in source offset order (the merchants agent
takes older offsets for replays), so what is left of one interval's counts
goes out, all of it, before the next interval's start.

>>> flush = MerchantFlush(interval=60.0, now=0.0)
>>> batch = MerchantCounts()
>>> for i in range(10):
...     batch.add(f"m{i}", 1767225600.0, partition=0, offset=i)
>>> len(flush.due(batch, now=1.0))  # still adding up
0
>>> len(flush.due(MerchantCounts(), now=60.0))  # the interval is over: sending begins
0
>>> len(flush.due(MerchantCounts(), now=90.0))  # half the next interval: half the merchants
5
>>> len(flush.due(MerchantCounts(), now=120.0))  # the rest, as the next interval starts
5
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.merchant_activity import MerchantCounts


@dataclass
class MerchantFlush:
    """Merchants' counts being added up, and those of the last interval being sent."""

    interval: float
    now: float
    #: Sent at once, whatever the interval, beyond this many merchants (bounded memory).
    max_merchants: int = 50_000
    _adding: MerchantCounts = field(default_factory=MerchantCounts)
    _sending: MerchantCounts = field(default_factory=MerchantCounts)
    _to_send: int = 0  # merchants in _sending when its interval began
    _started: float = 0.0  # when the current interval began

    def __post_init__(self) -> None:
        self._started = self.now

    def due(self, counts: MerchantCounts, now: float) -> MerchantCounts:
        """Add a batch's ``counts``; the counts to send with this batch."""
        self._adding.merge(counts)
        out = MerchantCounts()
        if now - self._started >= self.interval or len(self._adding) >= self.max_merchants:
            out.merge(self._sending)  # what is left of the interval before: all of it now
            self._sending, self._adding = self._adding, MerchantCounts()
            self._to_send = len(self._sending)
            self._started = now
        if not self._sending:
            return out
        if self.interval <= 0:
            out.merge(self._sending.take(len(self._sending)))
            return out
        share = min(1.0, (now - self._started) / self.interval)
        sent = self._to_send - len(self._sending)
        out.merge(self._sending.take(max(0, math.ceil(share * self._to_send) - sent)))
        return out

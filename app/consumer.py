"""The worker's Kafka consumer: Faust's, with the changes of :mod:`app.patches`.

Each change lives in a module of its own, which says what it works around:

- :mod:`app.patches.rewind_never_committed`: partitions nobody has
  committed yet are rewound to their beginning, not skipped;
- :mod:`app.patches.eager_handover`: messages are handed over without
  tasks when nothing waits;
- :mod:`app.patches.clearing_rereads`: records are read again after Faust
  empties the streams' buffers, and a seek ends the batch;
- :mod:`app.patches.changelog_rereads`: changelog records too, from where
  table recovery stands (issue 23's stalled recoveries);
- :mod:`app.patches.livelock_check`: Faust's livelock check leaves a
  partition being reset alone;
- :mod:`app.patches.fetch_policy`: how long the broker holds a fetch is a
  setting;
- :mod:`app.patches.consumer_on_loop`: the consumer runs on the worker's
  event loop instead of a thread of its own (``TXWATCH_CONSUMER_ON_LOOP=false``
  keeps Faust's thread): each fetch then costs no hop between threads, and
  the event loop no longer waits behind the consumer's thread for the GIL.
"""

from __future__ import annotations

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver

from app.patches.changelog_rereads import SeeksChangelogsBack
from app.patches.clearing_rereads import RereadsAfterClearing
from app.patches.consumer_on_loop import OnParentLoop
from app.patches.eager_handover import EagerHandOver
from app.patches.fetch_policy import FetchesByPolicy, FetchPolicy
from app.patches.livelock_check import SkipsPartitionsBeingReset
from app.patches.rewind_never_committed import RewindingSeeks


class RewindingConsumerThread(
    SeeksChangelogsBack,
    RewindingSeeks,
    SkipsPartitionsBeingReset,
    FetchesByPolicy,
    aiokafka_driver.AIOKafkaConsumerThread,
):
    """Faust's aiokafka consumer thread: seeks back to where processing and table
    recovery stand, a livelock check that skips partitions being reset, fetches
    by the consumer's :class:`FetchPolicy`."""


class LoopConsumerThread(OnParentLoop, RewindingConsumerThread):
    """:class:`RewindingConsumerThread` run on the worker's event loop."""


class Consumer(RereadsAfterClearing, EagerHandOver, aiokafka_driver.Consumer):
    """Faust's aiokafka consumer: :class:`RewindingConsumerThread`, eager hand-over,
    and a seek back after every clearing of the streams' buffers."""

    #: How the broker answers this consumer's fetches (set by :func:`use_txwatch_consumer`).
    fetch_policy = FetchPolicy()

    #: Whether the aiokafka consumer runs on the app's event loop instead of a thread.
    on_loop = True

    def _new_consumer_thread(self) -> RewindingConsumerThread:
        if self.on_loop:
            loop = self.loop
            return LoopConsumerThread(self, loop=loop, thread_loop=loop, beacon=self.beacon)
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)


def use_txwatch_consumer(
    app: faust.App, fetch_policy: FetchPolicy | None = None, on_loop: bool = True
) -> None:
    """Give ``app`` this module's consumer when its transport is aiokafka (``kafka://``),
    fetching by ``fetch_policy`` (default: Faust's), on the app's event loop or,
    without ``on_loop``, in a thread of its own as in Faust."""
    transport = app.transport
    if isinstance(transport, aiokafka_driver.Transport):
        attributes = {"fetch_policy": fetch_policy or FetchPolicy(), "on_loop": on_loop}
        transport.Consumer = type("Consumer", (Consumer,), attributes)

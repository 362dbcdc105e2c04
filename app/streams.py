"""Faust's stream, with batches that go as soon as nothing more has arrived.

``Stream.take_events(max_, within)`` yields a batch when it holds ``max_``
events or when ``within`` has passed since the agent asked for it. The
timer starts when the agent comes back, not when the first event arrives,
so at a steady rate every transaction waits the whole window (10 ms here)
on top of the previous batch's scoring; and events queued while the agent
was busy wait in the channel until the window opens. A fraud check wants
the opposite: take every event that is waiting, score them, come back.

:meth:`Stream.take_arrived` does that. Under load the batches grow by
themselves (more arrives while a batch is scored), so there is no window
to tune. Like ``take_events`` it acknowledges events after the agent has
finished with their batch; unlike it, not when the agent failed on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import EventT


class Stream(faust.Stream):
    """:class:`faust.Stream` with :meth:`take_arrived` (the app's ``Stream`` setting)."""

    async def take_arrived(self, max_: int, within: float = 0.1) -> AsyncIterator[list[EventT]]:
        """Yield every event that has arrived, at most ``max_`` at a time.

        A batch is yielded as soon as the channel has nothing more waiting,
        or it holds ``max_`` events, or, failing both, ``within`` seconds
        after the agent asked for it; it is never empty. Its events are
        acknowledged when the agent asks for the next batch, and never if
        the agent raises instead.
        """
        if max_ < 1:
            raise ValueError(f"max_ must be at least 1, not {max_}")
        if getattr(self.channel, "queue", None) is None:
            raise TypeError(f"take_arrived needs a channel with a queue, not {self.channel!r}")
        events: list[EventT] = []  # never more than max_: the processor waits for room
        ready = asyncio.Event()  # events are waiting for the agent
        room = asyncio.Event()  # the buffer takes more (cleared at max_)
        room.set()
        drained = self._channel_drained

        # A processor of the stream, which Faust drains in the background
        # (passively), as in take_events.
        async def add_to_batch(value: Any) -> Any:
            if not room.is_set():
                await room.wait()
            event = self.current_event
            if event is None:
                raise RuntimeError("take_arrived found no current event")
            events.append(event)
            if len(events) >= max_:
                room.clear()
                ready.set()
            elif drained():
                ready.set()
            return value

        # Acknowledged below, once processed: the stream must not ack them
        # as it moves on, or a commit could pass events not yet scored.
        self.enable_acks = False
        self.add_processor(add_to_batch)
        self._enable_passive(self.channel)
        while not self.should_stop:
            # The timeout matters when the channel is emptied without the
            # stream (a rebalance clears the queues): the events taken
            # before would otherwise wait for ever, unacknowledged, and
            # Faust waits for them to be acknowledged before it lets the
            # partitions go.
            await self.wait_for_stopped(ready, timeout=within)  # type: ignore[arg-type]
            ready.clear()
            if not events:
                continue
            batch = events.copy()
            events.clear()
            yield batch
            # Only once the agent asks for more: the events of a batch it
            # failed on stay unacknowledged, so their offsets are never
            # committed and a restart reads them again (take_events acks them).
            for event in batch:
                await self.ack(event)
            # Events taken while the batch was processed wait until the
            # channel is drained too (add_to_batch sets ``ready`` then): the
            # stream moves one event per turn of the loop, so taking them
            # as soon as the agent is back would take a few at a time, each
            # batch paying its fixed cost, while a backlog grew behind them.
            if events and drained():
                ready.set()
            room.set()

    def _channel_drained(self) -> bool:
        """Whether no event is waiting in the channel (the stream has taken them all)."""
        return self.channel.queue.empty()

"""Records are read again after Faust empties the streams' buffers.

Faust clears those buffers each time it resumes the flow, and relies on
seeking back to the committed offsets. At the end of table recovery,
though, it seeks first and resumes the flow after, while the fetch loop
runs on. Records handed over in between were cleared; and the loop, still
in a batch fetched before the seek, marked their partitions read past
them, so their second fetch was dropped as already read. A restarted
worker skipped a block of transactions (about one buffer's worth) without
a word, and its commits stopped there. :class:`RereadsAfterClearing`:

- ends the batch being handed over at a clearing, and the next fetch first
  seeks back: stream partitions to the committed offsets, changelog
  partitions to where table recovery stands (:mod:`.changelog_rereads`;
  the root of issue 23's stalls);
- marks messages whose hand-over had begun and had to wait at the clearing
  with a generation no group has, which Faust's streams and table recovery
  skip (a put woken just before the clearing can land just after it); they
  come again with the rest;
- ends the batch at a seek too, and hands nothing over while one is under
  way. Faust's seek sets its read offsets back to the committed ones; the
  next record of a batch fetched before it lies further on, and Faust took
  the offsets in between for a gap in the partition (as compaction leaves),
  which it commits as done, records still unscored in the buffers included;
- runs seeks one at a time: Faust's, at the end of recovery, can come while
  the fetch loop's own seek back is under way.

Records read twice are recognised downstream (:mod:`agents.redelivery`),
which relies on each partition being processed in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from faust.types import TP, Message

from app.patches.changelog_rereads import mark_stale


class ClearingWatch:
    """Told, like the streams' buffers, each time Faust's flow control clears them."""

    def __init__(self, on_clear: Callable[[], None]) -> None:
        self._on_clear = on_clear

    def clear(self) -> None:
        """Called by the flow control (as a managed queue)."""
        self._on_clear()


class RereadsAfterClearing:
    """Mixin for Faust's consumer (see the module's docstring).

    Put it above :class:`app.patches.eager_handover.EagerHandOver` in the
    bases: it tells a finished hand-over from a waiting one by the future
    the eager callback returns.
    """

    #: How long to wait before trying again a seek that failed (a rebalance, the broker away).
    seek_retry_interval = 1.0

    #: How long a fetch waits, handing nothing over, while another seek is under way.
    seek_wait_interval = 0.01

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deliver = self.callback  # type: ignore[has-type]
        self.callback = self._deliver_tracked
        # Messages whose hand-over has begun and not finished (it had to wait).
        self._unfinished: set[Message] = set()
        self._clearings = 0
        self._seeks = 0  # seeks begun: a batch during which it changes ends
        self._seeking = asyncio.Lock()  # held while a seek is under way (one at a time)
        self._seek_needed = False
        # The flow control holds its queues weakly: this consumer keeps the watch alive.
        self._clearing_watch = ClearingWatch(self._on_buffers_cleared)
        self.app.flow_control.manage_queue(self._clearing_watch)  # type: ignore[attr-defined]

    def _deliver_tracked(self, message: Message) -> asyncio.Future[None]:
        delivered = self._deliver(message)
        if not delivered.done():
            unfinished = self._unfinished
            unfinished.add(message)
            delivered.add_done_callback(lambda _: unfinished.discard(message))
        return delivered

    def _on_buffers_cleared(self) -> None:
        self._clearings += 1
        self._seek_needed = True
        # Their records could land in a queue just after it was emptied;
        # they are read again after the seek back instead.
        mark_stale(self._unfinished)

    async def perform_seek(self) -> None:
        """Seek every partition back to its committed offset (Faust's), and
        forget any pending need to. A batch being handed over ends. Seeks
        asked for at once run one after the other."""
        # Faust's seek at the end of recovery can come while the fetch loop's
        # seek back runs (at once on the worker's loop, or in the two workers
        # of the consumer thread's queue); each would end with Faust's read
        # offsets set to what it found committed, in either order.
        async with self._seeking:
            self._seek_needed = False  # a clearing during the seek asks for another
            self._seeks += 1
            try:
                await super().perform_seek()  # type: ignore[misc]
            except BaseException:
                self._seek_needed = True
                raise

    async def getmany(
        self,
        timeout: float,  # noqa: ASYNC109 (Faust's signature)
    ) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's fetched records. A clearing of the streams' buffers or a seek
        ends the batch, and the next call first seeks back to the committed
        offsets; nothing is handed over while a seek is under way."""
        if self._seeking.locked():
            # Records fetched now could predate the seek's end (see below).
            await self.sleep(self.seek_wait_interval)  # type: ignore[attr-defined]
            return
        if self._seek_needed and self.flow_active:  # type: ignore[attr-defined]
            try:
                await self.perform_seek()
            except Exception as exc:
                # Nothing may be handed over before the seek: it would mark
                # the partitions read past the records cleared.
                self.log.warning(  # type: ignore[attr-defined]
                    "Seek back to committed offsets failed, retrying: %r", exc
                )
                await self.sleep(self.seek_retry_interval)  # type: ignore[attr-defined]
                return
        # The count, not only the flag: a seek elsewhere (Faust's, at the end
        # of recovery) resets the flag, but the batch still predates it.
        # And a seek ends the batch too: it sets Faust's read offsets back to
        # the committed ones, and Faust takes the next record of the batch,
        # further on, for a gap in the partition (compacted away) that it
        # commits as done, records not yet scored included.
        clearings, seeks = self._clearings, self._seeks
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            if self._clearings != clearings or self._seeks != seeks or self._seek_needed:
                # The rest of the batch is fetched again after a seek back.
                self._seek_needed = True
                return
            yield tp, message  # Faust's loop comes back once it is handed over

"""A mode ``QueueServiceThread`` run on its parent's event loop, not in a thread.

Faust runs its Kafka consumer as such a service: a thread with an event
loop of its own, so that fetches and heartbeats go on while an agent holds
the worker's loop. Every call into it (each fetch, commit, seek) then
crosses threads: a queued method, a future resolved with
``call_soon_threadsafe``, a wake-up of the other loop; and the two threads
take turns at the GIL. At 2,000 tx/s the worker's event loop was ready to
run but waiting for a CPU a fifth of the time, much of it behind its own
consumer thread.

txwatch's agent holds the loop for one batch at a time (milliseconds to
tens of milliseconds, far below the consumer's session timeout), so the
consumer can share the loop: :class:`OnParentLoop` starts the service as a
task of the parent loop and makes ``call_thread`` a plain call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mode.threads import QueueServiceThread
from mode.utils.futures import maybe_async


class OnParentLoop(QueueServiceThread):
    """A :class:`QueueServiceThread` that runs as a task of the loop that starts it.

    Give it ``thread_loop=loop`` (the parent's loop). Its lifecycle is mode's:
    ``start`` returns once it has started (or raises what it crashed with),
    ``stop`` returns once it has shut down.
    """

    abstract = True
    # Held for as long as the service runs: the loop keeps only a weak
    # reference to a task, which could otherwise be collected mid-run.
    _serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the service as a task of the parent loop; return once it has started."""
        if self.thread_loop is not self.parent_loop:
            raise RuntimeError(f"{type(self).__name__} needs thread_loop= its parent's loop")
        self._thread_started.set()
        self._thread_running = self.parent_loop.create_future()
        self._serving = self.parent_loop.create_task(self._serve())
        # A crash is logged and reported by mode (``on_crash``, ``crash``).
        self._serving.add_done_callback(_retrieve_outcome)
        try:
            await self._thread_running
        finally:
            self._thread_running = None

    async def call_thread(
        self, fun: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        """Call ``fun`` at once: it already runs on the service's loop."""
        return await maybe_async(fun(*args, **kwargs))

    async def _gather_remaining_tasks(self) -> None:
        # mode cancels every task left on a stopped thread's loop; this loop's
        # other tasks are the rest of the worker.
        return None


def _retrieve_outcome(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()

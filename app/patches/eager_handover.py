"""Messages are handed over without tasks when nothing waits.

Faust's fetch loop (``Consumer._drain_messages``) awaits
``wait_first(callback(message), suspend_flow.wait())`` for every message:
four tasks and an ``asyncio.wait``, about 70 µs, a third of what a bare
agent spends per event. The callback (the conductor putting the event into
the streams' buffers) almost never waits: only when the flow is stopped,
the producer is backed up or a buffer is full. :class:`EagerHandOver`
starts it at once (:func:`start_eagerly`, what Python 3.12's
``asyncio.eager_task_factory`` does for every task) and its ``wait_first``
returns at once when it has already finished. When it does wait,
everything happens as in Faust, so a rebalance still interrupts it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

from mode.services import WaitArgT, WaitResults

T = TypeVar("T")


def start_eagerly(coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Run ``coro`` up to its first wait: a finished future if it finished
    (or raised) without waiting, else a task that runs the rest."""
    try:
        waiting_on = coro.send(None)
    except StopIteration as finished:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        done.set_result(finished.value)
        return done
    except Exception as exc:
        failed: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        failed.set_exception(exc)
        return failed
    return asyncio.ensure_future(_Resumed(coro, waiting_on))


def eager(
    function: Callable[..., Coroutine[Any, Any, T]],
) -> Callable[..., asyncio.Future[T]]:
    """``function``, its coroutines started with :func:`start_eagerly`."""

    def started(*args: Any, **kwargs: Any) -> asyncio.Future[T]:
        return start_eagerly(function(*args, **kwargs))

    return started


class _Resumed(Awaitable[T]):
    """A coroutine already run up to a wait, to be finished by a task.

    The task waits on what the coroutine yielded, then passes on what the
    task sends or throws, so cancelling the task cancels the coroutine.
    """

    def __init__(self, coro: Coroutine[Any, Any, T], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, T]:
        coro, waiting_on = self._coro, self._waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration as finished:
                    return finished.value
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration as finished:
                    return finished.value


class EagerHandOver:
    """Mixin for Faust's consumer: its callback started eagerly, ``wait_first`` short-cut."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.callback = eager(self.callback)  # type: ignore[has-type]

    async def wait_first(
        self,
        *coros: WaitArgT,
        timeout: float | None = None,  # noqa: ASYNC109 (mode's signature)
    ) -> WaitResults:
        """mode's ``wait_first``; at once if the first contender has already finished."""
        first = coros[0] if coros else None
        if (
            isinstance(first, asyncio.Future)
            and first.done()
            and not self._stopped.is_set()  # type: ignore[attr-defined]
            and not self._crashed.is_set()  # type: ignore[attr-defined]
        ):
            for other in coros[1:]:
                if inspect.iscoroutine(other):
                    other.close()  # never started: closing it is all it needs
            return WaitResults([first], [first.result()], False)
        return await super().wait_first(*coros, timeout=timeout)  # type: ignore[misc]

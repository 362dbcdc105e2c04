"""Start a coroutine at once, and make a task of it only if it has to wait.

Python 3.12's ``asyncio.eager_task_factory`` does this for every task; on
3.11 this module does it for one call: the worker hands each fetched
message to Faust's conductor, which almost never waits (only when the
flow is stopped, the producer is backed up or a stream's buffer is full),
yet Faust wraps every such call in tasks, about 70 µs per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

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

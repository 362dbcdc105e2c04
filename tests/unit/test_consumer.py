"""Which consumer a worker runs, and which partitions it rewinds to their beginning."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app import app
from app.consumer import (
    Consumer,
    RewindingConsumerThread,
    rewinds_to_beginning,
)


def test_the_worker_runs_the_rewinding_consumer():
    assert isinstance(app.consumer, Consumer)
    assert isinstance(app.consumer._thread, RewindingConsumerThread)


def fake_app(reset: str, acking: set[str]) -> SimpleNamespace:
    return SimpleNamespace(
        conf=SimpleNamespace(consumer_auto_offset_reset=reset),
        topics=SimpleNamespace(acks_enabled_for=acking.__contains__),
    )


@pytest.mark.parametrize(
    ("reset", "topic", "expected"),
    [
        ("earliest", "transactions", True),
        ("earliest", "users-changelog", False),  # table recovery positions it
        ("latest", "transactions", False),  # never stood before the end
    ],
)
def test_which_topics_are_rewound_to_their_beginning(reset, topic, expected):
    assert rewinds_to_beginning(fake_app(reset, {"transactions"}), topic) is expected


def test_wait_first_returns_at_once_when_the_first_has_finished():
    import asyncio
    import warnings

    async def main():
        finished = asyncio.get_running_loop().create_future()
        finished.set_result("delivered")
        never = asyncio.Event()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unawaited coroutine would warn
            done = await app.consumer.wait_first(finished, never.wait())
        assert (done.done, done.results, done.stopped) == ([finished], ["delivered"], False)
        # Not finished: mode's own wait_first, which waits for either.
        pending = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, never.set)
        done = await app.consumer.wait_first(pending, never.wait())
        assert pending.cancelled()
        assert done.results == [True]

    app.consumer.loop.run_until_complete(main())  # mode's path runs on the app's loop

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

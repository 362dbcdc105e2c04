"""Changelog records dropped at a clearing are read again, from where recovery stands,
and records handed over late are left out (app/patches/changelog_rereads.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

import pytest
from faust.types import TP
from mode.utils.queues import FlowControlEvent

from app import app
from app.patches.changelog_rereads import (
    STALE_GENERATION,
    ChangelogQueue,
    TableManager,
    changelog_positions,
)

CHANGELOG = "users-changelog"


@pytest.mark.parametrize(
    ("actives", "standbys", "expected"),
    [
        ({0: 41}, {}, {0: 42}),  # just after the last offset applied
        ({0: -1}, {1: -1}, {0: 0, 1: 0}),  # nothing applied: from the start
        ({0: None}, {1: 7}, {1: 8}),  # not positioned by recovery yet: left to it
        ({}, {}, {}),
    ],
)
def test_changelog_positions_of_the_apps_recovery(monkeypatch, actives, standbys, expected):
    recovery = app.tables.recovery  # Faust's own Recovery service
    monkeypatch.setattr(recovery, "active_tps", {TP(CHANGELOG, p) for p in actives})
    monkeypatch.setattr(recovery, "standby_tps", {TP(CHANGELOG, p) for p in standbys})
    monkeypatch.setattr(
        recovery, "active_offsets", Counter({TP(CHANGELOG, p): o for p, o in actives.items()})
    )
    monkeypatch.setattr(
        recovery, "standby_offsets", Counter({TP(CHANGELOG, p): o for p, o in standbys.items()})
    )
    assert changelog_positions(recovery) == {TP(CHANGELOG, p): o for p, o in expected.items()}


def event(offset: int, generation: int = 3) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(offset=offset, generation_id=generation))


def test_the_changelog_queue_leaves_out_events_marked_stale():
    async def main():
        queue = ChangelogQueue(maxsize=10, flow_control=FlowControlEvent(), clear_on_resume=True)
        for item in (event(1, STALE_GENERATION), event(2), event(3, STALE_GENERATION), event(4)):
            queue.put_nowait(item)
        return [(await queue.get()).message.offset for _ in range(2)]

    assert asyncio.run(main()) == [2, 4]


def test_the_apps_recovery_reads_from_such_a_queue_cleared_with_the_flow():
    assert isinstance(app.tables, TableManager)
    queue = app.tables.changelog_queue
    assert isinstance(queue, ChangelogQueue)
    assert queue.maxsize == app.conf.stream_buffer_maxsize
    assert queue in app.flow_control._queues  # emptied each time the flow resumes

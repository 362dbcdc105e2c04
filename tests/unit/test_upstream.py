"""The start-up check of the private parts of Faust, mode and aiokafka txwatch relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from faust.transport.consumer import Consumer

from app.patches.upstream import REQUIRED, TESTED, Private, has_member, missing

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_libraries_have_every_part_txwatch_relies_on():
    assert missing() == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("perform_seek", True),  # a method
        ("_committed_offset", True),  # assigned to self in __init__
        ("_read_offset", True),
        ("_no_such_offset", False),
    ],
)
def test_has_member_finds_methods_and_attributes_assigned_in_the_source(name, expected):
    assert has_member(Consumer, name) is expected


def test_a_missing_part_is_named_with_who_needs_it():
    required = (
        Private("faust.transport.consumer:Consumer", "_gone", "agents/x.py"),
        Private("faust.transport.consumer:NoSuchClass", "_read_offset", "web/y.py"),
        Private("faust.transport.consumer:Consumer", "_read_offset", "web/z.py"),
    )
    assert missing(required) == [
        "faust.transport.consumer:Consumer._gone (used by agents/x.py)",
        "faust.transport.consumer:NoSuchClass itself (needed for _read_offset by web/y.py)",
    ]


def test_every_owner_is_named_once_per_part():
    assert len({(p.owner, p.name) for p in REQUIRED}) == len(REQUIRED)


def test_the_tested_versions_are_the_pins_make_installs():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[name] = pinned
    assert pins == TESTED


def test_a_worker_refuses_to_start_when_a_part_is_gone():
    # Faust's RocksDB store as a future release might have it: renamed parts.
    script = "import faust.stores.rocksdb as r\ndel r.Store._db_for_partition\nimport app\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "APP_STORE": "memory://"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "IncompatibleDependency" in result.stderr
    assert "faust.stores.rocksdb:Store._db_for_partition (used by tables/store.py)" in result.stderr

import faust
import pytest
from faust.types import TP

import app  # noqa: F401  (the app first, as `faust -A app` imports it)
import tables.users as user_table
from app.batching import BatchedSends
from app.errors import ConfigurationError


class RecordingSends(BatchedSends):
    def __init__(self) -> None:
        super().__init__(producer=None)  # type: ignore[arg-type]
        self.added: list[tuple] = []

    def add(self, topic, partition, key, value):
        self.added.append((topic, partition, key, value))


def real_table(monkeypatch, name: str, store: str, **conf):
    """A table of Faust's own ``store`` kind in place of ``users``; no worker needed."""
    test_app = faust.App(f"txwatch-test-{name}", store=store, **conf)
    table = test_app.Table("users", default=None, key_type=bytes, value_type=bytes)
    monkeypatch.setattr(user_table, "users", table)
    return table


def test_memory_store_round_trip_and_changelog(monkeypatch):
    table = real_table(monkeypatch, "memory", "memory://")
    sends = RecordingSends()
    store = user_table.UserStore(sends)
    assert store.get(3, b"u1") is None
    state = {"profile": {"count": 1}, "velocity": {"recent": []}}
    store.put(3, b"u1", state)
    assert store.get(3, b"u1") == state
    ((topic, partition, key, value),) = sends.added
    assert (topic, partition, key) == (table.changelog_topic.get_topic_name(), 3, b"u1")
    assert table.data[b"u1"] == value  # what Faust's table and web views read


def test_rocksdb_store_writes_the_partitions_database_and_records_delivery(monkeypatch, tmp_path):
    table = real_table(monkeypatch, "rocksdb", "rocksdb://", tabledir=tmp_path)
    changelog = table.changelog_topic.get_topic_name()
    sends = RecordingSends()
    store = user_table.UserStore(sends)
    state = {"profile": {}, "velocity": {}}
    store.put(5, b"u2", state)
    assert store.get(5, b"u2") == state
    assert store.get(4, b"u2") is None  # another partition's database
    assert table.data._db_for_partition(5).get(b"u2") == sends.added[0][3]
    sends._on_delivery[changelog](changelog, 5, 41)
    # Where Faust's recovery resumes reading the changelog.
    assert table.data.persisted_offset(TP(changelog, 5)) == 41


def test_the_delivered_offset_is_recorded_at_most_once_a_second_per_partition(
    monkeypatch, tmp_path
):
    table = real_table(monkeypatch, "rocksdb-offsets", "rocksdb://", tabledir=tmp_path)
    changelog = table.changelog_topic.get_topic_name()
    now = [100.0]
    sends = RecordingSends()
    user_table.UserStore(sends, clock=lambda: now[0])
    delivered = sends._on_delivery[changelog]

    def recorded(partition):
        return table.data.persisted_offset(TP(changelog, partition))

    delivered(changelog, 5, 41)
    assert recorded(5) == 41  # the first at once
    now[0] = 100.5
    delivered(changelog, 5, 57)
    delivered(changelog, 6, 9)  # another partition keeps its own pace
    # Late is safe: recovery reads again what it already has.
    assert (recorded(5), recorded(6)) == (41, 9)
    now[0] = 101.0
    delivered(changelog, 5, 63)
    assert recorded(5) == 63


def test_a_store_of_another_kind_is_refused_by_name(monkeypatch):
    table = real_table(monkeypatch, "other", "memory://")
    monkeypatch.setattr(table, "_data", object())  # neither Faust's RocksDB nor memory store
    with pytest.raises(ConfigurationError, match="not object"):
        user_table.UserStore(RecordingSends())

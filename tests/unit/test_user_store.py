from types import SimpleNamespace

import app  # noqa: F401  (the app first, as `faust -A app` imports it)
import tables.users as user_table
from app.batching import BatchedSends


class RecordingSends(BatchedSends):
    def __init__(self) -> None:
        super().__init__(producer=None)  # type: ignore[arg-type]
        self.added: list[tuple] = []

    def add(self, topic, partition, key, value):
        self.added.append((topic, partition, key, value))


def fake_table(store):
    return SimpleNamespace(
        data=store, changelog_topic=SimpleNamespace(get_topic_name=lambda: "users-changelog")
    )


def test_memory_store_round_trip_and_changelog(monkeypatch):
    memory = SimpleNamespace(data={})  # the shape of Faust's memory:// store
    monkeypatch.setattr(user_table, "users", fake_table(memory))
    sends = RecordingSends()
    store = user_table.UserStore(sends)
    assert store.get(3, b"u1") is None
    state = {"profile": {"count": 1}, "velocity": {"recent": []}}
    store.put(3, b"u1", state)
    assert store.get(3, b"u1") == state
    ((topic, partition, key, value),) = sends.added
    assert (topic, partition, key) == ("users-changelog", 3, b"u1")
    assert memory.data[b"u1"] == value


class FakeRocksDB:
    def __init__(self) -> None:
        self.dbs: dict[int, dict] = {}
        self.persisted: dict = {}

    def _db_for_partition(self, partition: int):
        db = self.dbs.setdefault(partition, {})
        return SimpleNamespace(get=db.get, put=db.__setitem__)

    def set_persisted_offset(self, tp, offset: int) -> None:
        self.persisted[tp] = offset


def test_rocksdb_store_writes_the_partitions_database_and_records_delivery(monkeypatch):
    rocks = FakeRocksDB()
    monkeypatch.setattr(user_table, "users", fake_table(rocks))
    sends = RecordingSends()
    store = user_table.UserStore(sends)
    store.put(5, b"u2", {"profile": {}, "velocity": {}})
    assert b"u2" in rocks.dbs[5]
    assert store.get(4, b"u2") is None  # another partition's database
    sends._on_delivery["users-changelog"]("users-changelog", 5, 41)
    ((tp, offset),) = rocks.persisted.items()
    assert (tp.topic, tp.partition, offset) == ("users-changelog", 5, 41)

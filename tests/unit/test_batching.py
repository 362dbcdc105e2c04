import asyncio
from types import SimpleNamespace

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from app.batching import BatchedSends
from app.topics import OutputPartitions


class FakeProducer:
    """Builds real aiokafka batches; records what is sent and resolves it at once."""

    def __init__(self, batch_size: int = 1024) -> None:
        self.batch_size = batch_size
        self.sent: list[tuple[str, int, int]] = []
        self.offsets: dict[tuple[str, int], int] = {}

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int):
        count = batch.record_count()
        self.sent.append((topic, partition, count))
        base = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = base + count
        future = asyncio.get_running_loop().create_future()
        future.set_result(SimpleNamespace(offset=base))
        return future


def test_messages_go_out_as_one_batch_per_partition_and_report_delivery():
    async def scenario():
        producer = FakeProducer()
        sends = BatchedSends(producer)
        delivered = []
        sends.on_delivery("changelog", lambda t, p, o: delivered.append((t, p, o)))
        for i in range(5):
            sends.add("scores", i % 2, b"k", b"v%d" % i)
        sends.add("changelog", 3, b"k", b"state")
        sends.add("changelog", 3, b"k", b"state2")
        assert len(sends) == 3
        futures = await sends.send()
        await asyncio.gather(*futures)
        await asyncio.sleep(0)  # let the done-callbacks run
        return producer.sent, delivered, len(sends)

    sent, delivered, left = asyncio.run(scenario())
    assert sorted(sent) == [("changelog", 3, 2), ("scores", 0, 3), ("scores", 1, 2)]
    assert delivered == [("changelog", 3, 1)]  # the last offset of the batch
    assert left == 0


def test_a_full_batch_is_sent_and_another_started():
    async def scenario():
        producer = FakeProducer(batch_size=256)
        sends = BatchedSends(producer)
        for _ in range(10):
            sends.add("scores", 0, b"key", b"x" * 100)
        await sends.send()
        return producer.sent

    sent = asyncio.run(scenario())
    assert len(sent) > 1
    assert sum(count for _, _, count in sent) == 10


def test_output_partitions_follow_the_source_when_the_counts_match():
    partitions = OutputPartitions(8, {"scores": 8, "alerts": 4})
    assert partitions("scores", b"u1", 5) == 5
    expected = DefaultPartitioner()(b"u1", [0, 1, 2, 3], [0, 1, 2, 3])
    assert partitions("alerts", b"u1", 5) == expected

"""10,000 random and malformed messages among valid ones: none crashes, none is lost."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import get_args

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from models.simulator import SimulatorConfig, simulate
from models.transaction import InvalidTransaction, Reason, parse_transaction
from tests.integration.conftest import read_topic, topic_size, wait_for

pytestmark = pytest.mark.integration

VALID = 3000
INVALID = 10_000


def malformed(rng: random.Random, template: dict) -> tuple[bytes | None, bytes | None]:
    """One bad message of a randomly chosen kind: (key, value)."""
    user = template["user_id"].encode()
    kind = rng.randrange(14)
    if kind == 0:  # random bytes
        return user, rng.randbytes(rng.randrange(0, 300))
    if kind == 1:  # truncated JSON
        text = orjson.dumps(template)
        return user, text[: rng.randrange(1, len(text) - 1)]
    if kind == 2:  # not an object
        return user, orjson.dumps(rng.choice([[1, 2], "tx", 42, None, True]))
    if kind == 3:  # a required field missing
        field = rng.choice(["transaction_id", "user_id", "amount", "timestamp"])
        return user, orjson.dumps({k: v for k, v in template.items() if k != field})
    if kind == 4:  # a wrong type
        field = rng.choice(["amount", "user_id", "location", "timestamp"])
        return user, orjson.dumps({**template, field: rng.choice([[1], {"a": 1}, True])})
    if kind == 5:  # a bad amount
        amount = rng.choice([-1, -0.01, 1e13, "12", None])  # 0 is valid: a card verification
        return user, orjson.dumps({**template, "amount": amount})
    if kind == 6:  # NaN is not JSON
        return user, orjson.dumps(template).replace(b'"amount":', b'"amount":NaN,"x":')
    if kind == 7:  # a bad timestamp
        stamp = rng.choice(["yesterday", "1999-01-01T00:00:00Z", 5e9, -1, ""])
        return user, orjson.dumps({**template, "timestamp": stamp})
    if kind == 8:  # too long a field
        return user, orjson.dumps({**template, "merchant_id": "m" * 300})
    if kind == 9:  # oversized
        return user, orjson.dumps({**template, "note": "x" * 70_000})
    if kind == 10:  # empty or null value
        return user, rng.choice([b"", None])
    if kind == 11:  # keyed by someone else, or not keyed
        return rng.choice([b"someone-else", None]), orjson.dumps(template)
    if kind == 12:  # a bad label
        return user, orjson.dumps({**template, "label": rng.choice([2, 0.5, "yes"])})
    # invalid UTF-8 inside a string
    return user, orjson.dumps(template).replace(b'"transaction_id":"', b'"transaction_id":"\xff')


def expected_reason(key: bytes | None, value: bytes | None) -> str | None:
    """What txwatch's contract says of a message: its dead-letter reason, or None if valid."""
    try:
        tx = parse_transaction(value)
    except InvalidTransaction as exc:
        return exc.reason
    return None if key == tx.user_id.encode() else "wrong_key"


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2**20)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value=v, key=k) for k, v in messages])
    finally:
        await producer.stop()


def test_malformed_messages_go_to_the_dlq_with_their_reason_and_valid_ones_are_scored(
    make_worker,
):
    rng = random.Random(2026)
    valid = [
        (tx.user_id.encode(), orjson.dumps(tx.to_dict()))
        for tx in simulate(SimulatorConfig(users=200, seed=4), VALID)
    ]
    templates = [orjson.loads(v) for _, v in valid]
    bad = [malformed(rng, rng.choice(templates)) for _ in range(INVALID)]
    messages = valid + bad
    rng.shuffle(messages)
    # Shuffling reorders each user's valid transactions too; what counts here is
    # that each is scored once, whatever its place.
    reasons = [expected_reason(k, v) for k, v in messages]
    assert sum(r is None for r in reasons) == VALID  # every bad one is bad
    worker = make_worker().start()
    asyncio.run(produce(make_worker.stack.bootstrap, make_worker.topic("transactions"), messages))

    dlq = make_worker.topic("transactions-dlq")
    wait_for(lambda: topic_size(make_worker.stack, dlq) >= INVALID, timeout=240)
    wait_for(lambda: topic_size(make_worker.stack, make_worker.topic("scores")) >= VALID, 240)
    assert worker.alive()
    assert worker.get("/health")[0] == 200

    dead = read_topic(make_worker.stack, dlq)
    assert len(dead) == INVALID
    got = Counter(
        (key, value or None, headers["txwatch.error.reason"].decode())
        for key, value, headers in dead
    )
    want = Counter((k, v or None, r) for (k, v), r in zip(messages, reasons, strict=True) if r)
    assert got == want
    # The fuzz reached every reason the contract has, and the wrong key.
    assert {reason for *_, reason in want} == {*get_args(Reason), "wrong_key"}
    scored = read_topic(make_worker.stack, make_worker.topic("scores"))
    ids = [orjson.loads(value)["transaction_id"] for _, value, _ in scored]
    assert sorted(ids) == sorted(orjson.loads(v)["transaction_id"] for _, v in valid)
    stats = worker.get("/stats")[1]
    assert stats["dead_letters"] == INVALID
    assert stats["processed"] == VALID

"""The input of the recovery bench (step g): one valid transaction per user."""

from __future__ import annotations

from bench.recovery import one_per_user
from models.transaction import parse_transaction


def test_one_per_user_gives_each_user_one_valid_transaction_keyed_by_them():
    messages = one_per_user(500)
    transactions = [parse_transaction(value) for _, value in messages]
    assert len({tx.user_id for tx in transactions}) == 500
    keys = [key for key, _ in messages]
    assert keys == [tx.user_id.encode() for tx in transactions]
    assert one_per_user(500) == messages  # the same seed, the same stream

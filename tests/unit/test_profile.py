import copy
import random

from models.profile import SCHEMA, already_applied, apply_transaction, learn, new_profile, upgrade
from models.transaction import Transaction


def tx(ts: float, amount: float = 10.0) -> Transaction:
    return Transaction(transaction_id=f"t{ts}", user_id="u", amount=amount, timestamp=ts)


def test_apply_transaction_counts_and_tracks_event_time():
    profile = apply_transaction(None, tx(200.0), offset=0)
    profile = apply_transaction(profile, tx(100.0), offset=1)
    assert profile["count"] == 2
    assert profile["first_seen"] == 100.0
    assert profile["last_seen"] == 200.0
    assert profile["last_offset"] == 1


def test_apply_transaction_leaves_its_input_unchanged():
    before = apply_transaction(None, tx(100.0), offset=3)
    snapshot = copy.deepcopy(before)
    apply_transaction(before, tx(150.0), offset=4)
    assert before == snapshot


def test_learn_in_place_equals_apply_transaction():
    rng = random.Random(3)
    applied = learnt = None
    for offset in range(3000):
        event = Transaction(
            transaction_id=f"t{offset}",
            user_id="u",
            amount=rng.uniform(1, 500),
            timestamp=1.77e9 + rng.uniform(0, 30 * 86400),
            location=rng.choice([None, *(f"L{k}" for k in range(40))]),
            device_id=f"d{rng.randrange(45)}",
        )
        applied = apply_transaction(applied, event, offset)
        same = learn(learnt, event, offset)
        assert same is learnt or learnt is None
        learnt = same
        assert learnt == applied


def test_already_applied_skips_offsets_at_or_below_the_last_one():
    profile = apply_transaction(new_profile(), tx(100.0), offset=7)
    assert already_applied(profile, 6)
    assert already_applied(profile, 7)
    assert not already_applied(profile, 8)
    assert not already_applied(None, 0)


def test_a_profile_stored_before_schema_2_is_upgraded_and_scored():
    # Written by an older version: no merchants, no misses, no schema key.
    first = Transaction("t0", "u", 5.0, 100.0, location="US", merchant_category="Grocery")
    old = {k: v for k, v in learn(None, first, 0).items() if k not in ("merchants", "misses")}
    old.pop("schema")
    upgraded = upgrade(copy.deepcopy(old))
    assert upgraded["schema"] == SCHEMA
    assert upgraded["merchants"] == {}
    # Each value kept was new once: the best guess at the misses.
    assert upgraded["misses"] == {
        "locations": 1, "merchant_categories": 1, "payment_methods": 0, "devices": 0,
        "merchants": 0, "hours": 1,
    }  # fmt: skip
    learn(upgraded, tx(200.0), 1)
    assert upgraded["count"] == 2


def test_misses_count_values_the_profile_did_not_hold():
    profile = None
    for i, place in enumerate(["US", "US", "GB", "US", "FR"]):
        profile = learn(profile, Transaction(f"t{i}", "u", 5.0, 100.0 * i, location=place), i)
    assert profile["misses"]["locations"] == 3
    assert upgrade(profile) is profile  # current: unchanged

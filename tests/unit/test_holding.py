import pytest

from models.holding import HoldPolicy, held_count, learn_or_hold, settle
from models.profile import learn
from models.transaction import Transaction

T0 = 1.7e9
HOUR = 3600.0


def tx(i: int, hours: float, location: str = "FR", amount: float = 10.0) -> Transaction:
    return Transaction(f"t{i}", "u", amount, T0 + hours * HOUR, location=location)


def learnt_as(*transactions: Transaction) -> dict:
    profile = None
    for offset, t in enumerate(transactions):
        profile = learn(profile, t, offset)
    return profile


POLICY = HoldPolicy(seconds=24 * HOUR, max_held=3)


@pytest.mark.parametrize(
    ("steps", "count", "held", "locations"),
    [
        # (hours, location, flagged) per transaction
        ([(0, "FR", False), (1, "BR", True)], 1, 1, {"FR"}),
        ([(0, "FR", False), (1, "BR", True), (2, "FR", False)], 2, 1, {"FR"}),
        # The user's own time moves past the hold: the held one is learnt.
        ([(0, "FR", False), (1, "BR", True), (26, "FR", False)], 3, 0, {"FR", "BR"}),
        # More held than the policy keeps: the oldest is learnt.
        ([(0, "FR", False), (1, "A", True), (2, "B", True), (3, "C", True), (4, "D", True)],
         2, 3, {"FR", "A"}),
    ],
)  # fmt: skip
def test_held_transactions_stay_out_of_the_habits(steps, count, held, locations):
    profile = None
    for offset, (hours, location, flagged) in enumerate(steps):
        profile = learn_or_hold(profile, tx(offset, hours, location), offset, POLICY, flagged)
    assert profile["count"] == count
    assert held_count(profile) == held
    assert set(profile["locations"]) == locations
    assert profile["last_offset"] == len(steps) - 1  # replays still know what was applied


def test_a_genuine_label_learns_it_and_a_fraud_label_drops_it():
    first, odd, other = tx(0, 0), tx(1, 1, "BR", 900.0), tx(2, 2, "US", 5.0)
    profile = learn_or_hold(None, first, 0, POLICY)
    profile = learn_or_hold(profile, odd, 1, POLICY, flagged=True)
    profile = learn_or_hold(profile, other, 2, POLICY, flagged=True)
    assert settle(profile, "t1", fraud=True)
    assert settle(profile, "t2", fraud=False)
    assert not settle(profile, "t1", fraud=False)  # settled already
    assert held_count(profile) == 0
    expected = learnt_as(first, other)
    assert {k: v for k, v in profile.items() if k not in ("held", "last_offset")} == {
        k: v for k, v in expected.items() if k != "last_offset"
    }
    assert profile["last_offset"] == 2

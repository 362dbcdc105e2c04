import random

from models.transaction import Transaction
from models.velocity import HOUR, MAX_RECENT_EVENTS, apply_transaction, learn, windows_at

T0 = 1_772_368_200.0


def tx(offset_s: float, amount: float = 10.0, location: str | None = "US") -> Transaction:
    return Transaction(
        transaction_id=f"t{offset_s}",
        user_id="u",
        amount=amount,
        timestamp=T0 + offset_s,
        location=location,
    )


def state_after(*events: Transaction):
    state = None
    for offset, event in enumerate(events):
        state = apply_transaction(state, event, offset)
    return state


def test_windows_count_and_sum_by_event_time():
    state = state_after(tx(-7200, 1.0), tx(-1800, 2.0), tx(-300, 4.0), tx(-30, 8.0))
    w = windows_at(state, tx(0))
    assert (w.count_1m, w.count_10m, w.count_1h, w.count_24h) == (1, 2, 3, 4)
    assert (w.sum_1m, w.sum_10m, w.sum_1h, w.sum_24h) == (8.0, 12.0, 14.0, 15.0)


def test_windows_ignore_the_wall_clock():
    # Last year's events give the same windows whenever they are replayed.
    old = state_after(tx(-60 - 365 * 86400), tx(-365 * 86400))
    w = windows_at(old, tx(1 - 365 * 86400))
    assert w.count_1m == 1
    assert w.count_1h == 2


def test_windows_leave_out_later_events_applied_before():
    state = state_after(tx(0), tx(120))
    w = windows_at(state, tx(30))  # a late arrival stamped between them
    assert w.count_1m == 1
    assert w.count_10m == 1


def test_distinct_locations_include_the_transaction_itself():
    state = state_after(tx(-500, location="US"), tx(-200, location="FR"), tx(-100, location="US"))
    assert windows_at(state, tx(0, location="BR")).locations_10m == 3
    assert windows_at(state, tx(0, location=None)).locations_10m == 2
    assert windows_at(None, tx(0, location="BR")).locations_1h == 1


def test_small_amounts_are_counted_over_ten_minutes():
    state = state_after(tx(-700, 1.0), tx(-300, 1.5), tx(-200, 2.0), tx(-100, 50.0))
    assert windows_at(state, tx(0)).small_10m == 2


def test_state_forgets_what_no_window_can_see():
    state = state_after(*(tx(-30 * HOUR + i * 600) for i in range(200)), tx(0))
    assert all(event[0] > T0 - HOUR for event in state["recent"])
    assert all(int(bucket) > int(T0 // HOUR) - 24 for bucket in state["hourly"])


def test_recent_events_are_capped():
    state = state_after(*(tx(i * 0.1) for i in range(MAX_RECENT_EVENTS + 50)))
    assert len(state["recent"]) == MAX_RECENT_EVENTS
    assert state["recent"][-1][0] == T0 + (MAX_RECENT_EVENTS + 49) * 0.1


def test_apply_transaction_keeps_input_and_offset():
    before = state_after(tx(0))
    snapshot = repr(before)
    after = apply_transaction(before, tx(10), 9)
    assert repr(before) == snapshot
    assert after["last_offset"] == 9
    assert [e[0] for e in after["recent"]] == [T0, T0 + 10]


def test_late_arrival_keeps_event_time_order():
    state = state_after(tx(100), tx(50))
    assert [e[0] - T0 for e in state["recent"]] == [50, 100]


def test_learn_in_place_equals_apply_transaction():
    rng = random.Random(3)
    applied = learnt = None
    t = 0.0
    for offset in range(3000):
        # Mostly forward in time, some late arrivals, now and then a day's gap.
        t += rng.expovariate(1 / 300) if rng.random() < 0.9 else -rng.uniform(0, 5000)
        t += rng.uniform(0, 3 * 86400) if rng.random() < 0.01 else 0.0
        event = tx(t, amount=rng.uniform(1, 500), location=rng.choice([None, "A", "B"]))
        applied = apply_transaction(applied, event, offset)
        learnt = learn(learnt, event, offset)
        assert learnt == applied


def test_a_newcomer_has_empty_windows_with_its_own_location():
    for state in (None, {"recent": [], "hourly": {}, "max_seen": None, "last_offset": -1}):
        w = windows_at(state, tx(0, amount=3.0))
        assert (w.count_1m, w.count_10m, w.count_1h, w.count_24h) == (0, 0, 0, 0)
        assert (w.sum_1m, w.sum_24h, w.small_10m) == (0.0, 0.0, 0)
        assert (w.locations_10m, w.locations_1h) == (1, 1)
        assert windows_at(state, tx(0, location=None)).locations_10m == 0

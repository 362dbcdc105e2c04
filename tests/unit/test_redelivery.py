from agents.redelivery import RedeliveryGuard


def test_guard_tracks_each_partition_separately():
    guard = RedeliveryGuard()
    assert guard.first_time(0, 10)
    assert guard.first_time(1, 3)
    assert not guard.first_time(0, 9)
    assert not guard.first_time(1, 3)
    assert guard.first_time(1, 4)


def test_forgetting_lets_a_replay_through_after_a_rebalance():
    guard = RedeliveryGuard()
    assert guard.first_time(1, 10)
    assert not guard.first_time(1, 10)
    guard.forget()
    assert guard.first_time(1, 10)  # the state's offsets decide now

"""The worker's garbage-collector tuning."""

import gc

import pytest

from app.collector import tune_garbage_collection


@pytest.fixture
def restored_collector():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuning_freezes_what_lives_and_raises_the_young_threshold(restored_collector):
    _, middle, old = gc.get_threshold()
    tune_garbage_collection(12_345)
    assert gc.get_threshold() == (12_345, middle, old)
    assert gc.get_freeze_count() > 0
    cycle: list = []
    cycle.append(cycle)  # created after the freeze: still collectable
    assert gc.is_tracked(cycle)
    del cycle
    assert gc.collect() >= 1


def test_zero_leaves_pythons_defaults(restored_collector):
    before = gc.get_threshold()
    tune_garbage_collection(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0

"""heap.py: every collection's pause measured, and a started service's objects frozen out of
later collections."""
import gc
import weakref

import pytest

from tianshu_grpc_server import heap


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def _pauses(generation: str) -> float:
    return next((s.value for m in heap.GC_PAUSE_SECONDS.collect() for s in m.samples
                 if s.name == "python_gc_pause_seconds_count" and s.labels["generation"] == generation), 0.0)


def test_each_full_collection_is_measured_once_however_often_measuring_is_asked_for():
    heap.measure_pauses()
    heap.measure_pauses()
    before = _pauses("2")
    gc.collect()
    gc.collect()
    assert _pauses("2") - before == 2
    assert gc.callbacks.count(heap._time_collection) == 1


def test_objects_alive_when_frozen_are_no_longer_walked_by_a_full_collection(unfrozen):
    built_at_start = {"descriptor": ["a table", "of a module"]}
    assert gc.is_tracked(built_at_start)

    frozen = heap.freeze_startup_objects()

    assert frozen == gc.get_freeze_count() > 0
    walked = gc.get_objects(generation=2)
    assert not any(o is built_at_start for o in walked)


def test_garbage_left_by_start_up_is_collected_before_the_freeze(unfrozen):
    class Cycle:
        pass

    cycle = Cycle()
    cycle.self = cycle
    gone = weakref.ref(cycle)
    del cycle

    heap.freeze_startup_objects()

    assert gone() is None  # collected, not kept forever in the permanent generation

"""The committable offset of a partition while its records run out of order."""
from tianshu_batch.offsets import OffsetTracker


def test_nothing_is_committable_before_a_record_is_seen():
    assert OffsetTracker().committable() is None


def test_the_offset_stops_below_the_lowest_record_still_running():
    tracker = OffsetTracker()
    for offset in (10, 11, 12, 13):
        tracker.started(offset)
    for offset in (11, 13):
        tracker.finished(offset)
    assert tracker.committable() == 10  # 10 still runs: committing past it could skip it
    tracker.finished(10)
    assert tracker.committable() == 12
    tracker.finished(12)
    assert tracker.committable() == 14


def test_an_offset_already_committed_is_not_committed_again():
    tracker = OffsetTracker()
    tracker.started(5)
    tracker.finished(5)
    tracker.committed(tracker.committable())
    assert tracker.committable() is None
    tracker.started(6)
    assert tracker.committable() is None  # still 6: the next record not known to be finished
    tracker.finished(6)
    assert tracker.committable() == 7


def test_gaps_in_offsets_do_not_hold_the_commit_back():
    tracker = OffsetTracker()  # compacted topics and transaction markers leave gaps
    tracker.started(3)
    tracker.started(8)
    tracker.finished(3)
    assert tracker.committable() == 8
    tracker.finished(8)
    assert tracker.committable() == 9

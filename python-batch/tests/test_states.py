"""The state machine alone: what may follow what."""
import pytest

from tianshu_batch import states


@pytest.mark.parametrize("current,target", [
    ("validating", "in_progress"), ("validating", "failed"), ("in_progress", "finalizing"),
    ("in_progress", "cancelling"), ("in_progress", "expired"), ("finalizing", "completed"),
    ("cancelling", "cancelled"), ("cancelling", "expired")])
def test_allowed_transitions_pass(current, target):
    states.check("b", current, target)


@pytest.mark.parametrize("current,target", [
    ("validating", "completed"), ("in_progress", "completed"), ("in_progress", "cancelled"),
    ("cancelling", "in_progress"), ("cancelling", "completed"), ("finalizing", "cancelling"),
    ("completed", "failed"), ("cancelled", "in_progress"), ("expired", "completed"), ("failed", "in_progress")])
def test_illegal_transitions_are_refused(current, target):
    with pytest.raises(states.IllegalTransition) as refused:
        states.check("b", current, target)
    assert refused.value.current == current and refused.value.target == target


def test_final_statuses_never_change():
    for final in states.FINAL:
        assert not any(states.allowed(final, target) for target in states.ALL)


def test_unknown_statuses_are_a_bug_not_a_refusal():
    with pytest.raises(ValueError):
        states.check("b", "in_progress", "done")


def test_a_batch_with_nothing_pending_settles_to_its_final_status():
    assert states.settled("in_progress") == ("finalizing", "completed")
    assert states.settled("cancelling") == ("cancelled",)
    assert states.settled("validating") == ()
    assert states.settled("completed") == ()

"""The batch lane's bookkeeping, without an engine."""
from __future__ import annotations

import asyncio

import pytest

from tianshu_inference.batch_lane import BatchLane


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def _enter_all(lane: BatchLane, tickets) -> list[asyncio.Task]:
    tasks = [asyncio.create_task(lane.enter(t)) for t in tickets]
    await _settle()
    return tasks


async def test_batch_sequences_enter_up_to_the_idle_limit_then_wait_in_arrival_order():
    lane = BatchLane(idle_limit=2, interactive_limit=1)
    tickets = [lane.ticket(f"b{i}", 1, preemptible=True) for i in range(4)]
    tasks = await _enter_all(lane, tickets)

    assert [t.done() for t in tasks] == [True, True, False, False]
    assert (lane.running_sequences, lane.waiting_sequences) == (2, 2)

    lane.leave(tickets[0])
    await _settle()
    assert [t.done() for t in tasks] == [True, True, True, False]


async def test_interactive_work_preempts_the_newest_preemptible_batch_beyond_the_narrow_limit():
    lane = BatchLane(idle_limit=8, interactive_limit=2)
    old, pinned, newer, newest = (lane.ticket("old", 1, True), lane.ticket("pinned", 1, False),
                                  lane.ticket("newer", 1, True), lane.ticket("newest", 1, True))
    await _enter_all(lane, [old, pinned, newer, newest])

    victims = lane.interactive_arrived(1)

    assert victims == [newest, newer]
    assert newest.preempted and newer.preempted and not old.preempted
    assert lane.running_sequences == 2


async def test_a_generation_that_cannot_resume_exactly_is_never_preempted():
    lane = BatchLane(idle_limit=8, interactive_limit=0)
    pinned = [lane.ticket(f"p{i}", 1, preemptible=False) for i in range(3)]
    await _enter_all(lane, pinned)

    assert lane.interactive_arrived(1) == []
    assert lane.running_sequences == 3


async def test_while_interactive_work_runs_waiting_batch_enters_only_up_to_the_narrow_limit():
    lane = BatchLane(idle_limit=8, interactive_limit=1)
    lane.interactive_arrived(1)
    tickets = [lane.ticket(f"b{i}", 1, True) for i in range(3)]
    tasks = await _enter_all(lane, tickets)
    assert [t.done() for t in tasks] == [True, False, False]

    lane.interactive_left(1)
    await _settle()
    assert all(t.done() for t in tasks)
    assert lane.limit == 8


async def test_a_preempted_ticket_enters_again_ahead_of_younger_waiting_ones():
    lane = BatchLane(idle_limit=2, interactive_limit=1)
    first, second = lane.ticket("first", 1, True), lane.ticket("second", 1, True)
    await _enter_all(lane, [first, second])
    (victim,) = lane.interactive_arrived(1)
    assert victim is second
    younger = lane.ticket("younger", 1, True)
    younger_entry = asyncio.create_task(lane.enter(younger))
    second_entry = asyncio.create_task(lane.enter(second))
    await _settle()
    assert not younger_entry.done() and not second_entry.done()

    lane.interactive_left(1)
    await _settle()
    assert second_entry.done() and not younger_entry.done()
    assert not second.preempted


async def test_a_cancelled_wait_leaves_no_trace_and_hands_its_turn_on():
    lane = BatchLane(idle_limit=1, interactive_limit=0)
    running, cancelled, next_one = (lane.ticket(n, 1, True) for n in ("running", "cancelled", "next"))
    tasks = await _enter_all(lane, [running, cancelled, next_one])
    assert lane.waiting_sequences == 2

    tasks[1].cancel()
    await _settle()
    assert tasks[1].cancelled()
    assert lane.waiting_sequences == 1

    lane.leave(running)
    await _settle()
    assert tasks[2].done()
    lane.leave(next_one)
    assert (lane.running_sequences, lane.waiting_sequences) == (0, 0)


async def test_a_cancel_that_races_the_grant_gives_the_room_back():
    lane = BatchLane(idle_limit=1, interactive_limit=0)
    running, granted = lane.ticket("running", 1, True), lane.ticket("granted", 1, True)
    tasks = await _enter_all(lane, [running, granted])

    lane.leave(running)  # grants `granted` ...
    tasks[1].cancel()  # ... and its caller leaves before it resumes
    await _settle()

    assert tasks[1].cancelled()
    assert (lane.running_sequences, lane.waiting_sequences) == (0, 0)


async def test_a_generation_of_more_sequences_than_the_limit_runs_alone():
    lane = BatchLane(idle_limit=2, interactive_limit=1)
    wide, small = lane.ticket("wide", 4, False), lane.ticket("small", 1, True)
    tasks = await _enter_all(lane, [wide, small])
    assert [t.done() for t in tasks] == [True, False]

    lane.leave(wide)
    await _settle()
    assert tasks[1].done()


async def test_a_narrow_limit_of_zero_keeps_batch_out_while_interactive_work_runs():
    lane = BatchLane(idle_limit=4, interactive_limit=0)
    batch = lane.ticket("b", 1, True)
    await _enter_all(lane, [batch])

    assert lane.interactive_arrived(1) == [batch]
    entry = asyncio.create_task(lane.enter(batch))
    await _settle()
    assert not entry.done()

    lane.interactive_left(1)
    await _settle()
    assert entry.done()


@pytest.mark.parametrize("idle, interactive", [(0, 0), (2, 3), (2, -1)])
def test_limits_must_narrow(idle, interactive):
    with pytest.raises(ValueError):
        BatchLane(idle_limit=idle, interactive_limit=interactive)

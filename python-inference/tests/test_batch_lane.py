"""The batch lane's policy: which batch requests an engine step leaves out, without an engine."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tianshu_inference.batch_lane import (BATCH_PRIORITY, INTERACTIVE_PRIORITY, LanePolicy, carries_interactive_work,
                                          held_back, step_token_budget)


@dataclass(eq=False)
class Request:
    name: str
    priority: int
    num_prompt_tokens: int = 10
    num_computed_tokens: int = 10


def batch(name: str, computed: int = 10) -> Request:
    return Request(name, BATCH_PRIORITY, num_computed_tokens=computed)


def interactive(name: str, computed: int = 10) -> Request:
    return Request(name, INTERACTIVE_PRIORITY, num_computed_tokens=computed)


def step(policy: LanePolicy, running, waiting=()) -> tuple[list[str], list[str]]:
    narrow = carries_interactive_work(policy, running, waiting)
    held_running, held_waiting = held_back(policy, running, waiting, narrow)
    return [r.name for r in held_running], [r.name for r in held_waiting]


def test_without_interactive_work_batch_runs_up_to_the_wide_limit_and_the_rest_waits():
    policy = LanePolicy(limit=3, limit_interactive=1)
    assert step(policy, [batch("b0"), batch("b1")], [batch("w0", 0), batch("w1", 0)]) == ([], ["w1"])
    assert step(policy, [batch(f"b{i}") for i in range(3)], [batch("w0", 0)]) == ([], ["w0"])


@pytest.mark.parametrize("during", ["prefill", "generation"])
def test_a_waiting_interactive_prompt_narrows_the_step_to_the_oldest_batch_sequences(during):
    policy = LanePolicy(limit=8, limit_interactive=2, narrow_during=during)
    running = [batch(f"b{i}") for i in range(5)]
    waiting = [interactive("chat", 0), batch("new", 0)]

    assert step(policy, running, waiting) == (["b2", "b3", "b4"], ["new"])


def test_an_interactive_prompt_part_way_through_its_prefill_still_narrows():
    policy = LanePolicy(limit=8, limit_interactive=1)
    assert step(policy, [batch("b0"), interactive("chat", computed=4), batch("b1")]) == (["b1"], [])


def test_once_its_prompt_is_in_an_interactive_generation_narrows_only_under_generation():
    running = [batch("b0"), interactive("chat"), batch("b1"), batch("b2")]

    assert step(LanePolicy(8, 1, "prefill"), running) == ([], [])
    assert step(LanePolicy(8, 1, "generation"), running) == (["b1", "b2"], [])


def test_narrowed_room_left_under_the_narrow_limit_still_admits_waiting_batch():
    policy = LanePolicy(limit=8, limit_interactive=3)
    assert step(policy, [batch("b0")], [interactive("chat", 0), batch("w0", 0), batch("w1", 0), batch("w2", 0)]) \
        == ([], ["w2"])


def test_a_narrow_limit_of_zero_leaves_every_batch_request_out():
    policy = LanePolicy(limit=4, limit_interactive=0)
    assert step(policy, [batch("b0"), batch("b1")], [interactive("chat", 0), batch("w0", 0)]) == (["b0", "b1"], ["w0"])


def test_interactive_requests_are_never_left_out():
    policy = LanePolicy(limit=1, limit_interactive=0, narrow_during="generation")
    held_running, held_waiting = step(policy, [interactive("a"), interactive("b")], [interactive("c", 0)])
    assert held_running == held_waiting == []


def test_the_policy_travels_in_the_engine_config_and_is_absent_without_it():
    policy = LanePolicy(5, 2, "generation", prefill_tokens=64)
    assert LanePolicy.from_config(policy.as_config()) == policy
    assert LanePolicy.from_config({}) is None
    assert LanePolicy.from_config(None) is None


@pytest.mark.parametrize("limit, interactive_limit", [(0, 0), (2, 3), (2, -1)])
def test_limits_must_narrow(limit, interactive_limit):
    with pytest.raises(ValueError):
        LanePolicy(limit, interactive_limit)


def test_a_step_without_interactive_work_prefills_at_most_its_share_beside_every_decode():
    policy = LanePolicy(8, 0, prefill_tokens=256)
    assert step_token_budget(policy, running=8, narrow=False, full=2048) == 8 + 256
    # Never more than vLLM's own budget.
    assert step_token_budget(policy, running=8, narrow=False, full=100) == 100


def test_an_interactive_step_keeps_the_whole_budget_and_no_share_means_vllms_own():
    assert step_token_budget(LanePolicy(8, 0, prefill_tokens=256), running=8, narrow=True, full=2048) == 2048
    assert step_token_budget(LanePolicy(8, 0), running=8, narrow=False, full=2048) == 2048


def test_a_prefill_share_must_be_positive():
    with pytest.raises(ValueError):
        LanePolicy(8, 0, prefill_tokens=0)

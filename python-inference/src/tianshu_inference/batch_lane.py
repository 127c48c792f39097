"""The batch lane: how many batch-priority sequences each engine step carries, given interactive work.

On CPU an engine step's time grows with every sequence in it, and an interactive call's first
token comes out of the step its prompt is prefilled in. vLLM's priority scheduling preempts only
under KV-cache pressure, so left alone that step would carry every running batch sequence.
The lane is a vLLM scheduler that, before each step, sets aside the batch requests beyond the
step's limit: `limit` while the step carries no interactive work, `limit_interactive` while it
does. Running ones set aside just sit the step out (the oldest keep going); their KV cache stays
where it is, so nothing is aborted or computed again. Waiting ones are not started.

`narrow_during` says which steps count as carrying interactive work: "prefill", those that
prefill an interactive prompt (they decide its time to first token; afterwards it streams beside
the whole batch), or "generation", every step while an interactive generation is in the engine
(its token rate is protected too, at a larger cost to batch throughput).

The policy (`held_back`) is pure. `scheduler_class` names the vLLM scheduler built around it,
which runs in vLLM's engine-core process and reads the policy from the engine's additional config.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal, Protocol

from .vllm_classes import built_on_first_use

# The priorities the service submits with: lower goes first in vLLM's queue.
INTERACTIVE_PRIORITY = 0
BATCH_PRIORITY = 1

NarrowDuring = Literal["prefill", "generation"]
_CONFIG_KEY = "tianshu_batch_lane"


class EngineRequest(Protocol):
    """The parts of vLLM's Request the policy reads."""

    priority: int
    num_computed_tokens: int
    num_prompt_tokens: int


@dataclass(frozen=True)
class LanePolicy:
    limit: int
    limit_interactive: int
    narrow_during: NarrowDuring = "prefill"
    # Prompt tokens a step without interactive work may prefill (None: vLLM's own budget).
    prefill_tokens: int | None = None

    def __post_init__(self):
        if self.limit < 1 or not 0 <= self.limit_interactive <= self.limit:
            raise ValueError(f"need 1 <= limit and 0 <= limit_interactive <= limit, "
                             f"got {self.limit} and {self.limit_interactive}")
        if self.prefill_tokens is not None and self.prefill_tokens < 1:
            raise ValueError(f"need prefill_tokens >= 1, got {self.prefill_tokens}")

    def as_config(self) -> dict:
        return {_CONFIG_KEY: asdict(self)}

    @classmethod
    def from_config(cls, additional_config: dict | None) -> "LanePolicy | None":
        values = (additional_config or {}).get(_CONFIG_KEY)
        return cls(**values) if values else None


def _interactive(request: EngineRequest) -> bool:
    return request.priority <= INTERACTIVE_PRIORITY


def carries_interactive_work(policy: LanePolicy, running: Sequence[EngineRequest],
                             waiting: Sequence[EngineRequest]) -> bool:
    if any(_interactive(r) for r in waiting):
        return True
    if policy.narrow_during == "generation":
        return any(_interactive(r) for r in running)
    return any(_interactive(r) and r.num_computed_tokens < r.num_prompt_tokens for r in running)


def held_back(policy: LanePolicy, running: Sequence[EngineRequest], waiting: Sequence[EngineRequest],
              narrow: bool) -> tuple[list[EngineRequest], list[EngineRequest]]:
    """The running and the waiting batch requests (`waiting` in queue order) the next step leaves
    out; `narrow` whether it carries interactive work."""
    limit = policy.limit_interactive if narrow else policy.limit
    batch_running = [r for r in running if not _interactive(r)]
    room = max(0, limit - len(batch_running))
    return batch_running[limit:], [r for r in waiting if not _interactive(r)][room:]


def step_token_budget(policy: LanePolicy, running: int, narrow: bool, full: int) -> int:
    """Tokens the next step may schedule: vLLM's budget, or in a step without interactive work
    one decode per running request plus `prefill_tokens`.

    Batch sequences of one length run in cohorts: they start together, finish together, and
    their successors' prompts then fill whole 2,048-token steps, several times as long as a
    decode step. An interactive prompt arriving then waits for the rest of such a step, and
    steps this uneven make that wait long on average, as a bus that comes in bunches keeps
    people waiting longer than one that comes as often but evenly. A small prefill share per
    step spreads the successors' prompts over the decode steps, so the cohorts dissolve and
    steps stay even; the tokens computed are the same."""
    if narrow or policy.prefill_tokens is None:
        return full
    return min(full, running + policy.prefill_tokens)


def scheduler_class(async_scheduling: bool) -> str:
    """The qualified name of the lane over the scheduler vLLM would have picked."""
    return f"{__name__}.{'BatchLaneAsyncScheduler' if async_scheduling else 'BatchLaneScheduler'}"


def _lane_scheduler(base: type) -> type:
    class BatchLane(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._lane = LanePolicy.from_config(self.vllm_config.additional_config)
            self._narrowing_stalled = False

        def schedule(self, *args, **kwargs):
            if self._lane is None:
                return super().schedule(*args, **kwargs)
            queued = list(self.waiting)
            narrow = carries_interactive_work(self._lane, self.running, queued)
            running, waiting = held_back(self._lane, self.running, queued, narrow)
            if narrow and self._narrowing_stalled:
                # The last narrowed step started no interactive work (its prompt found no room
                # in the KV cache, say): hold nothing running now, so that vLLM's own priority
                # preemption can make room.
                running = []
            # schedule() first advances current_step; a running request sits out every step
            # below its next_decode_eligible_step (vLLM's own decode pacing).
            skip_until = self.current_step + 2
            for request in running:
                request.next_decode_eligible_step = max(request.next_decode_eligible_step, skip_until)
            if waiting:
                self.waiting.remove_requests(waiting)
            full = self.max_num_scheduled_tokens
            self.max_num_scheduled_tokens = step_token_budget(self._lane, len(self.running), narrow, full)
            try:
                output = super().schedule(*args, **kwargs)
            finally:
                # Put back within the same call: no abort or new request can come in between.
                self.max_num_scheduled_tokens = full
                for request in waiting:
                    self.waiting.add_request(request)
            self._narrowing_stalled = narrow and bool(running) and not any(
                rid in self.requests and _interactive(self.requests[rid]) for rid in output.num_scheduled_tokens)
            return output

    return BatchLane


def _lane_over_vllm_scheduler() -> type:
    from vllm.v1.core.sched.scheduler import Scheduler

    return _lane_scheduler(Scheduler)


def _lane_over_vllm_async_scheduler() -> type:
    from vllm.v1.core.sched.async_scheduler import AsyncScheduler

    return _lane_scheduler(AsyncScheduler)


# Built on first use: only vLLM's engine-core process imports its schedulers.
__getattr__ = built_on_first_use(globals(), {"BatchLaneScheduler": _lane_over_vllm_scheduler,
                                             "BatchLaneAsyncScheduler": _lane_over_vllm_async_scheduler})

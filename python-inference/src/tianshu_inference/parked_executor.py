"""vLLM's multiprocess executor, with the engine core napping while the model computes a step.

vLLM's engine core hands each step to its worker process and busy-waits for the result
(`SpinCondition` in vLLM's shm_broadcast: a `sched_yield` loop on shared memory). On a GPU host
that costs a spare CPU core and saves microseconds per step. On a CPU host the worker computes
on the cores it is pinned to, and the spin takes one of the few left: measured on 2 cores, the
engine core used 0.95 of a core for as long as the engine generated, and the service's event
loop, the gateway and the batch worker shared what remained. `ParkedExecutor` has the engine
core sleep 0.2 ms between looks at the result queue instead: 0.12 of a core, and at most 0.2 ms
more per step, whose compute takes tens of milliseconds on a CPU.

Not vLLM's own idle path (block on the queue's notification socket): tried, and on this vLLM
every step then waited out the reader's 5 s recheck. The worker keeps spinning while it waits
for the next step: it spins on its own pinned core.
"""
from __future__ import annotations

import time

from .vllm_classes import built_on_first_use

QUALNAME = f"{__name__}.ParkedExecutor"
NAP_SECONDS = 0.0002


def _nap(timeout_ms: int | None = None) -> None:
    time.sleep(NAP_SECONDS)


def _parked_executor() -> type:
    from vllm.v1.executor.multiproc_executor import MultiprocExecutor

    class ParkedExecutor(MultiprocExecutor):
        def _post_init_executor(self) -> None:
            super()._post_init_executor()
            for queue in self.response_mqs:
                # SpinCondition.wait is what the read loop calls between looks at the queue.
                if queue._spin_condition is not None:
                    queue._spin_condition.wait = _nap

    return ParkedExecutor


# Built on first use, in vLLM's engine-core process: importing this module costs nothing.
__getattr__ = built_on_first_use(globals(), {"ParkedExecutor": _parked_executor})

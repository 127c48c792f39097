"""vLLM's CPU worker, spinning for the next step only briefly once steps stop coming.

A vLLM worker reads each step from a shared-memory queue and, after every read, polls it in a
`sched_yield` loop for a whole second before it sleeps on the queue's notification socket
(`SpinCondition`, `busy_loop_s=1`, in vLLM's shm_broadcast). On a GPU host that loop runs on a
spare CPU core. On a CPU host the worker is pinned to the cores the model computes on, and a
service that answers a call every second or so keeps them spinning between calls (0.60 s of CPU
in the 0.6 s after a call, measured): time taken from every other process on those cores, and
from another engine's worker pinned there. `QuietCPUWorker` shortens the loop to the service's
`worker_idle_spin_seconds`: longer than the gap between two steps of a running generation (the
scheduler's turn, a few milliseconds), so a generation still never sleeps between steps;
afterwards the worker sleeps until the next step's notification (vLLM's own path after its
second, and what an idle service has always woken from).

That notification is best-effort: a ZMQ PUB socket with a send high-water mark of 1, which drops
a ping silently, and a reader that misses one sleeps until vLLM's recheck, 5 s later
(`SHM_READER_RECHECK_INTERVAL_MS`). With the worker going idle after every step (a spin of 0)
calls through the gateway met that 5 s stall every few hundred (docs/benchmarks.md); after
a longer spin it needs a ping sent at the moment the worker goes idle, rare but the same 5 s. So
the quiet worker also rechecks its step queue every `IDLE_RECHECK_MS` while idle: a lost ping
costs at most that, and an idle worker wakes 50 times a second for a look at shared memory.

It runs in vLLM's worker process, which builds it from the engine's configuration; the setting
travels in the engine's additional config, as the batch lane's does.
"""
from __future__ import annotations

from .vllm_classes import built_on_first_use

QUALNAME = f"{__name__}.QuietCPUWorker"
# What vLLM's CPU platform picks as the worker when left to choose.
VLLM_CPU_WORKER = "vllm.v1.worker.cpu_worker.CPUWorker"
_CONFIG_KEY = "tianshu_worker_idle_spin_seconds"
# How often an idle worker looks at its step queue without being notified.
IDLE_RECHECK_MS = 20


def as_config(idle_spin_seconds: float) -> dict:
    return {_CONFIG_KEY: idle_spin_seconds}


def _shorten_reader_spin(idle_spin_seconds: float) -> None:
    """Every reader queue this process builds from now on spins at most `idle_spin_seconds`,
    and every idle wait in this process rechecks the queue after at most `IDLE_RECHECK_MS`."""
    from vllm.distributed.device_communicators import shm_broadcast

    # Read at each wait (MessageQueue.ReadTimeoutWithWarnings), so this covers queues built before.
    shm_broadcast.SHM_READER_RECHECK_INTERVAL_MS = min(shm_broadcast.SHM_READER_RECHECK_INTERVAL_MS, IDLE_RECHECK_MS)
    original = shm_broadcast.SpinCondition.__init__

    def init(self, is_reader, context, notify_address, busy_loop_s: float = 1):
        original(self, is_reader, context, notify_address, busy_loop_s=min(busy_loop_s, idle_spin_seconds))

    shm_broadcast.SpinCondition.__init__ = init


def _quiet_worker() -> type:
    from vllm.v1.worker.cpu_worker import CPUWorker

    class QuietCPUWorker(CPUWorker):
        def __init__(self, vllm_config, *args, **kwargs):
            super().__init__(vllm_config, *args, **kwargs)
            # The worker is built before its step queue (vLLM's WorkerProc), so the queue's
            # reader is made with the short loop.
            spin = (vllm_config.additional_config or {}).get(_CONFIG_KEY)
            if spin is not None:
                _shorten_reader_spin(spin)

    return QuietCPUWorker


# Built on first use, in vLLM's worker process: importing this module costs nothing.
__getattr__ = built_on_first_use(globals(), {"QuietCPUWorker": _quiet_worker})

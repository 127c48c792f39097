"""vLLM's processes do not spin on a CPU host: the engine core sleeps while its worker computes a
step (parked_executor.py), the worker sleeps soon after its last step (quiet_worker.py)."""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from tianshu.inference.v1 import inference_pb2 as pb

from conftest import chat

_TICKS = os.sysconf("SC_CLK_TCK")


def _engine_core_pid() -> int:
    """vLLM starts its engine core as a child of the process that builds the engine: this one."""
    return _child("VLLM::EngineCor", os.getpid())


def _child(name: str, parent: int) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if comm.startswith(name) and ppid == parent:
            return int(entry.name)
    raise AssertionError(f"no {name} process under {parent}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


async def test_engine_core_does_not_spin_while_the_model_generates(inference_server, stub):
    """Spinning, vLLM's engine core burns a core for the whole generation (0.95 of one measured
    on 2 cores); parked it does its scheduling and output work and sleeps in between."""
    core = _engine_core_pid()
    before, started = _cpu_seconds(core), time.monotonic()
    reply = await stub.Generate(pb.GenerateRequest(generation=chat(
        "Tell me a long story about a lighthouse.", max_tokens=160, ignore_eos=True)))
    elapsed, used = time.monotonic() - started, _cpu_seconds(core) - before

    assert reply.usage.completion_tokens == 160
    assert used < 0.5 * elapsed, f"engine core used {used:.2f} s of CPU over {elapsed:.2f} s of generation"


async def test_worker_sleeps_soon_after_its_last_step(inference_server, stub):
    """vLLM's worker polls for the next step for a second after each one, on the core it is
    pinned to; a service answering a call a second would keep that core busy between calls."""
    worker = _child("VLLM::Worker", _engine_core_pid())
    reply = await stub.Generate(pb.GenerateRequest(generation=chat("Say hello.", max_tokens=4)))
    assert reply.usage.completion_tokens > 0
    await asyncio.sleep(0.2)
    before = _cpu_seconds(worker)
    await asyncio.sleep(0.6)
    used = _cpu_seconds(worker) - before

    assert used < 0.15, f"worker used {used:.2f} s of CPU in the 0.6 s after its last step"

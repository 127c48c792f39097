"""The batch lane taken apart, in one process with the inference service's own engine (no
gateway, Kafka or gRPC around it): what the lane costs batch throughput, and where an
interactive call's time to first token goes while batch work runs.

  throughput - the batch benchmark's 1,000 lines through `AsyncLLM` at batch priority, `--in-flight`
               at a time, with the lane as configured (TIANSHU_INFERENCE_BATCH_LANE_*) and with
               it opened up (no limit, no prefill share), after vLLM offline (`LLM.generate`) on
               the same lines: the lane's own cost, without the pipeline's.
  probes     - the batch benchmark's interactive call, one at a time, idle and then while batch
               lines keep `--in-flight` requests in the engine; each probe's time to first token
               split with vLLM's per-request timestamps into: until the engine core took the
               request in (it does so only between steps), its wait in the engine's queue, the
               step that made its first token, and the delivery back to the caller.

Run: make bench-batch-lane   (about 12 minutes on 2 CPU cores); prints only, writes nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import batch_bench  # noqa: E402  the same lines, probe and offline reference

OPEN_LANE = {"TIANSHU_INFERENCE_BATCH_LANE_LIMIT": "100000", "TIANSHU_INFERENCE_BATCH_LANE_PREFILL_TOKENS": "0"}
RESULT = "result: "


@dataclass
class Probe:
    ttft: float
    until_taken_in: float
    queued: float
    first_step: float
    delivery: float


class EngineUnderTest:
    def __init__(self):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        from tianshu_inference import model_store
        from tianshu_inference.engine import VllmEngine
        from tianshu_inference.settings import InferenceSettings

        settings = InferenceSettings()
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(settings.cpu_kv_cache_gib))
        self.engine = VllmEngine(settings, model_store.chat_model_path(settings))
        self.llm = self.engine.async_llm
        self.batch_params = SamplingParams(max_tokens=batch_bench.MAX_TOKENS, temperature=0,
                                           output_kind=RequestOutputKind.DELTA)
        self.probe_params = SamplingParams(max_tokens=8, temperature=0, output_kind=RequestOutputKind.DELTA)
        self.counter = 0
        self.batch_tokens = 0

    async def _ids(self, messages: list[dict]) -> list[int]:
        from tianshu_inference.generation import ChatMessage

        return await self.engine.tokenize([ChatMessage(m["role"], m["content"]) for m in messages], None)

    async def batch_line(self, line: dict) -> None:
        from tianshu_inference.batch_lane import BATCH_PRIORITY

        self.counter += 1
        ids = await self._ids(line["body"]["messages"])
        async for output in self.llm.generate({"prompt_token_ids": ids}, self.batch_params, f"batch-{self.counter}",
                                              priority=BATCH_PRIORITY):
            self.batch_tokens += len(output.outputs[0].token_ids)

    async def probe(self) -> Probe:
        from tianshu_inference.batch_lane import INTERACTIVE_PRIORITY

        self.counter += 1
        ids = await self._ids(batch_bench.PROBE)
        # vLLM's engine-core timestamps are time.monotonic() of another process on this host.
        started, first, stats = time.monotonic(), None, None
        async for output in self.llm.generate({"prompt_token_ids": ids}, self.probe_params, f"probe-{self.counter}",
                                              priority=INTERACTIVE_PRIORITY):
            if first is None and output.outputs[0].text:
                first, stats = time.monotonic(), output.metrics
        return Probe(ttft=first - started, until_taken_in=stats.queued_ts - started,
                     queued=stats.scheduled_ts - stats.queued_ts, first_step=stats.first_token_ts - stats.scheduled_ts,
                     delivery=first - stats.first_token_ts)


async def lane_throughput(in_flight: int, count: int) -> dict:
    engine = EngineUnderTest()
    try:
        todo = batch_bench.lines(count)

        async def caller():
            while todo:
                await engine.batch_line(todo.pop())

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        return {"seconds": time.perf_counter() - started, "output_tokens": engine.batch_tokens}
    finally:
        engine.engine.shutdown()


async def probes(in_flight: int, count: int) -> tuple[list[Probe], list[Probe], float]:
    engine = EngineUnderTest()
    try:
        for _ in range(3):
            await engine.probe()
        idle = []
        for _ in range(count):
            idle.append(await engine.probe())
            await asyncio.sleep(0.3)
        lines, stop = batch_bench.lines(100_000), asyncio.Event()

        async def caller(start: int):
            i = start
            while not stop.is_set():
                await engine.batch_line(lines[i % len(lines)])
                i += in_flight

        callers = [asyncio.create_task(caller(i)) for i in range(in_flight)]
        await asyncio.sleep(15)  # past the first cohort's prefill
        busy, tokens, started = [], engine.batch_tokens, time.monotonic()
        for _ in range(count * 2):
            busy.append(await engine.probe())
            await asyncio.sleep(0.5)
        rate = (engine.batch_tokens - tokens) / (time.monotonic() - started)
        stop.set()
        for task in callers:
            task.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
        return idle, busy, rate
    finally:
        engine.engine.shutdown()


def _child(mode: str, env: dict, args: argparse.Namespace) -> dict:
    """Each engine in a process of its own, so that one's memory and threads are gone before the next."""
    argv = [sys.executable, __file__, "--child", mode, "--in-flight", str(args.in_flight), "--items", str(args.items),
            "--probes", str(args.probes)]
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"{mode} run failed:\n{done.stderr[-3000:]}")


def _ms(values) -> str:
    values = sorted(values)
    return f"{1000 * statistics.median(values):7.1f} / {1000 * values[int(0.9 * (len(values) - 1))]:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in-flight", type=int, default=128, help="batch lines in the engine at once")
    parser.add_argument("--items", type=int, default=1000, help="lines for the throughput runs")
    parser.add_argument("--probes", type=int, default=20, help="idle probes; twice as many busy ones")
    parser.add_argument("--no-open-lane", action="store_true",
                        help="skip the run with the lane opened up (when comparing lane settings)")
    parser.add_argument("--child", choices=["offline", "lane", "probes"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "offline":
        print(RESULT + json.dumps(batch_bench.offline(args.items)), flush=True)
        return
    if args.child == "lane":
        print(RESULT + json.dumps(asyncio.run(lane_throughput(args.in_flight, args.items))), flush=True)
        return
    if args.child == "probes":
        idle, busy, rate = asyncio.run(probes(args.in_flight, args.probes))
        print(RESULT + json.dumps({"idle": [asdict(p) for p in idle], "busy": [asdict(p) for p in busy],
                                   "rate": rate}), flush=True)
        return

    print(f"{args.items} batch lines, {args.in_flight} in flight, output tokens/s:")
    offline = _child("offline", {}, args)
    rows = [("offline LLM.generate", offline), ("AsyncLLM, the lane as configured", _child("lane", {}, args))]
    if not args.no_open_lane:
        rows.append(("AsyncLLM, the lane opened up", _child("lane", OPEN_LANE, args)))
    for name, r in rows:
        rate = r["output_tokens"] / r["seconds"]
        share = rate / (offline["output_tokens"] / offline["seconds"])
        print(f"  {name:<34} {r['seconds']:6.1f} s {rate:7.1f} tokens/s {share:7.1%}")
    probed = _child("probes", {}, args)
    idle, busy, rate = ([Probe(**p) for p in probed["idle"]], [Probe(**p) for p in probed["busy"]],
                        probed["rate"])
    print(f"\ninteractive probe, p50 / p90 ms (batch ran at {rate:.1f} output tokens/s beside the busy probes):")
    print(f"  {'':<6} {'to first token':>17} {'until taken in':>17} {'queued':>17} {'first step':>17} {'delivery':>17}")
    for name, group in (("idle", idle), ("busy", busy)):
        print(f"  {name:<6} " + " ".join(f"{_ms(getattr(p, field) for p in group):>17}" for field in
                                         ("ttft", "until_taken_in", "queued", "first_step", "delivery")))
    print(f"  busy / idle at p50: {statistics.median(p.ttft for p in busy) / statistics.median(p.ttft for p in idle):.2f}x")


if __name__ == "__main__":
    main()

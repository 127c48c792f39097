"""Gateway overhead: the same requests through the Java gateway and straight to the gRPC service.

One inference service (the real engine, on CPU), two gateways in front of it, driven at once:
  (a) grpc           - the inference service's GenerateStream/Generate, called directly
  (b) gateway        - POST /v1/chat/completions on the gateway, which authenticates the key,
                       counts the prompt (with the model's tokenizer, in the gateway), admits the
                       call against rate limits in PostgreSQL (the default store, shared by all
                       instances), calls the same service and writes a usage row (in batches,
                       after the response)
  (c) gateway-memory - the same with the single-instance in-process bucket store
Two requests: a small non-streaming one (one new token, so the engine's share is as small as it
gets: latency and requests/s), and a streaming one (time to its first token). Each at
concurrency 1 and 64. The paths take turns round by round, the order rotating, so a burst of
CPU on this shared 2-core machine falls on both alike. The caller's key has rate limits set
(far above what the benchmark reaches), so admission does its real database round trip.
With --gateway-cpus the gateways, PostgreSQL and the load generator get cores of their own, the
inference service and its engine the rest: the gateway as it runs in production, beside the engine
rather than on its cores. Writes its table into docs/benchmarks.md between its own markers.

Run: make bench-gateway   (about 25 minutes on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localstack  # noqa: E402
from docs_section import rerun_command, run_context  # noqa: E402
from inference_bench import MODEL, write_section  # noqa: E402

# gateway: the default, rate-limit buckets in PostgreSQL (shared by every gateway instance);
# gateway-memory: a second gateway on the same database with TIANSHU_LIMITS_STORE=memory, the
# single-instance option whose admission never leaves the process.
PATHS = ("grpc", "gateway", "gateway-memory")
PROMPT = "Say hello."
UNARY_TOKENS = 1  # the least the engine can do: what is left is the cost of the path
STREAM_TOKENS = 16
# Warm-up: unary calls in blocks (the gateway's CPU per call is read after each), then streams.
WARMUP_CONCURRENCY = 64
WARMUP_BLOCK = 2000
WARMUP_STREAMS = 600


@dataclass
class Result:
    """One request kind on one path at one concurrency, summed over its rounds."""

    kind: str
    path: str
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # whole call, or to the first token
    # The gateway's own account of each call (its Server-Timing header): step -> milliseconds.
    steps: list[dict[str, float]] = field(default_factory=list)

    def ms(self, q: float) -> float:
        return 1000 * quantile(self.latencies, q)

    def paired_ms(self, q: float) -> float | None:
        """What the gateway added to each call, paired with that same call's backend time
        (Server-Timing): client-side time less the Generate call the gateway made for it. The
        engine's own run-to-run swing (tens of ms on CPU) cancels out of each pair."""
        added = [1000 * latency - steps["backend"] for latency, steps in zip(self.latencies, self.steps)
                 if "backend" in steps]
        return quantile(added, q) if added else None

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def grpc_calls(stack: localstack.Stack):
    import grpc
    from tianshu.inference.v1 import inference_pb2 as pb
    from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

    channel = grpc.insecure_channel(stack.inference_target)
    stub = pb_grpc.InferenceServiceStub(channel)

    def generation(max_tokens: int):
        return pb.Generation(model=MODEL, messages=[pb.ChatMessage(role="user", content=PROMPT)],
                             sampling=pb.SamplingParams(max_tokens=max_tokens, temperature=0))

    def unary() -> float:
        started = time.perf_counter()
        stub.Generate(pb.GenerateRequest(generation=generation(UNARY_TOKENS)), timeout=120)
        return time.perf_counter() - started

    def stream() -> float:
        started, first = time.perf_counter(), None
        for message in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation(STREAM_TOKENS)),
                                           timeout=120):
            if first is None and message.text:
                first = time.perf_counter() - started
        return first

    return {"unary": unary, "stream": stream}, channel


def gateway_calls(stack: localstack.Stack, key: str):
    """POST /v1/chat/completions over Python's own http.client, one keep-alive connection per
    load-generator thread. Not httpx: its own work per call (about 1.5 ms of CPU at concurrency 1
    here) would be counted as the gateway's, while the direct path runs grpc's C client."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    address = urlsplit(stack.gateway_url)
    local = threading.local()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def connection() -> http.client.HTTPConnection:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        return local.connection

    def body(max_tokens: int, stream: bool) -> str:
        return json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}],
                           "max_tokens": max_tokens, "temperature": 0, "stream": stream})

    def call(max_tokens: int, stream: bool) -> http.client.HTTPResponse:
        conn = connection()
        conn.request("POST", "/v1/chat/completions", body(max_tokens, stream), headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {response.read()[:300]!r}")
        return response

    def unary() -> tuple[float, dict[str, float]]:
        started = time.perf_counter()
        response = call(UNARY_TOKENS, False)
        response.read()
        return time.perf_counter() - started, server_timing(response.getheader("server-timing", ""))

    def stream() -> tuple[float, dict[str, float]]:
        started, first = time.perf_counter(), None
        response = call(STREAM_TOKENS, True)
        for line in response:
            if first is None and line.startswith(b"data: {"):
                choices = json.loads(line[6:])["choices"]
                if choices and choices[0]["delta"].get("content"):
                    first = time.perf_counter() - started
        # Sent with the headers, so "backend" is the stream's time to its first message.
        return first, server_timing(response.getheader("server-timing", ""))

    return {"unary": unary, "stream": stream}


def server_timing(header: str) -> dict[str, float]:
    """'auth;dur=0.41, tokenize;dur=2.10' -> {'auth': 0.41, 'tokenize': 2.1}"""
    steps = {}
    for part in filter(None, (p.strip() for p in header.split(","))):
        name, _, duration = part.partition(";dur=")
        steps[name] = float(duration)
    return steps


def benchmark_key(stack: localstack.Stack) -> str:
    """A tenant and key of their own, with limits, so every call takes the admission round trip."""
    import httpx

    admin = httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.admin_key()}"})
    tenant = f"bench-{int(time.time())}"
    admin.post("/v1/admin/tenants", json={"id": tenant, "rpm": 1_000_000, "tpm": 100_000_000}).raise_for_status()
    created = admin.post("/v1/admin/keys", json={"tenant": tenant, "name": "gateway bench", "scopes": ["chat"],
                                                 "rpm": 1_000_000, "tpm": 100_000_000})
    created.raise_for_status()
    return created.json()["key"]


def gateway_pid(stack: localstack.Stack) -> int:
    return next(s.process.pid for s in stack.services if s.name == "gateway")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm_up(call, count: int, pid: int, threads: ThreadPoolExecutor) -> list[float]:
    """Unary calls in blocks of WARMUP_BLOCK; returns the gateway JVM's CPU ms per call of each."""
    per_call = []
    for start in range(0, count, WARMUP_BLOCK):
        block = min(WARMUP_BLOCK, count - start)
        before = cpu_seconds(pid)
        run_round(Result("unary", "warm-up", WARMUP_CONCURRENCY), call, block, threads)
        per_call.append(1000 * (cpu_seconds(pid) - before) / block)
        print(f"   warm-up {start + block:>6} calls: gateway CPU {per_call[-1]:.2f} ms/call", file=sys.stderr, flush=True)
    return per_call


def report_warmup(warmup: dict[str, list[float]]) -> str:
    if not warmup:
        return ""
    blocks = max(len(v) for v in warmup.values())
    marks = sorted({0, 1, 2, 4, 8, blocks - 1} & set(range(blocks)))
    header = "| gateway JVM CPU per call (ms), calls served | " + " | ".join(
        f"{(i + 1) * WARMUP_BLOCK:,}" for i in marks) + " |"
    lines = [header, "|---|" + "---:|" * len(marks)]
    for path, values in warmup.items():
        lines.append(f"| {path} | " + " | ".join(f"{values[i]:.2f}" if i < len(values) else "-" for i in marks) + " |")
    return "\n".join(lines)


def run_round(result: Result, call, count: int, threads: ThreadPoolExecutor) -> None:
    started = time.perf_counter()
    batches = [count // result.concurrency + (1 if i < count % result.concurrency else 0)
               for i in range(result.concurrency)]

    def worker(n: int) -> list:
        return [call() for _ in range(n)]

    for outcomes in threads.map(worker, batches):
        for outcome in outcomes:
            if isinstance(outcome, tuple):
                outcome, steps = outcome
                result.steps.append(steps)
            result.latencies.append(outcome)
    result.seconds += time.perf_counter() - started


def report(results: list[Result]) -> str:
    by = {(r.kind, r.path, r.concurrency): r for r in results}
    lines = ["| request | concurrency | path | requests | requests/s | p50 (ms) | p99 (ms) | gateway adds (p50) "
             "| gateway adds per call, paired: p50 / p99 (ms) |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        what = "non-streaming, 1 token: latency" if r.kind == "unary" else \
            f"stream of {STREAM_TOKENS} tokens: time to first token"
        base = by[(r.kind, "grpc", r.concurrency)]
        added = f"{r.ms(0.5) - base.ms(0.5):+.1f} ms" if r.path != "grpc" else "-"
        p50, p99 = r.paired_ms(0.5), r.paired_ms(0.99)
        paired = f"{p50:.1f} / {p99:.1f}" if p50 is not None else "-"
        lines.append(f"| {what} | {r.concurrency} | {r.path} | {len(r.latencies)} | {r.per_second:.1f} | "
                     f"{r.ms(0.5):.1f} | {r.ms(0.99):.1f} | {added} | {paired} |")
    return "\n".join(lines)


def report_steps(results: list[Result]) -> str:
    """The gateway's own time per step, as its Server-Timing header reported it."""
    rows = [r for r in results if r.steps]
    names = ["auth", "count", "tokenize", "admit", "request", "response", "gateway", "backend"]
    lines = ["| request | concurrency | path | " + " | ".join(f"{n} p50 / p99 (ms)" for n in names) + " |",
             "|---|---:|---|" + "---:|" * len(names)]
    for r in rows:
        cells = []
        for name in names:
            values = [s[name] for s in r.steps if name in s]
            cells.append(f"{quantile(values, 0.5):.2f} / {quantile(values, 0.99):.2f}" if values else "-")
        what = "non-streaming, 1 token" if r.kind == "unary" else f"stream of {STREAM_TOKENS} tokens, to the first"
        lines.append(f"| {what} | {r.concurrency} | {r.path} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def lone_calls(call, count: int) -> str:
    """Calls one at a time: each Server-Timing step's p50 / p90 / p99, then the slowest calls.
    `paired` is the client's time less the Generate call; `request (rest)` is the part of
    `request` no named step accounts for."""
    calls = []
    for _ in range(count):
        seconds, steps = call()
        steps["paired"] = seconds * 1000 - steps.get("backend", 0.0)
        steps["request (rest)"] = steps.get("request", 0.0) - sum(steps.get(n, 0.0) for n in ("auth", "count",
                                                                                             "tokenize", "admit"))
        calls.append(steps)
    names = ["paired", "gateway", "request", "auth", "count", "tokenize", "admit", "request (rest)", "response"]
    lines = [f"{count} lone calls, ms p50 / p90 / p99:"]
    for name in names:
        values = [c[name] for c in calls if name in c]
        if values:
            lines.append(f"  {name:<15} " + " / ".join(f"{quantile(values, q):.2f}" for q in (0.5, 0.9, 0.99)))
    lines.append("the slowest 20 by the gateway's own time:")
    for c in sorted(calls, key=lambda c: -c.get("gateway", 0.0))[:20]:
        lines.append("  " + ", ".join(f"{n} {c[n]:.2f}" for n in names + ["backend"] if n in c))
    return "\n".join(lines)


# Gaps between one call and the next: back to back, and about what a 1-token Generate takes here.
IDLE_GAPS_MS = (0.2, 5, 15, 45)
IDLE_GAP_CALLS = 200
IDLE_GAP_WARMUP = 5000  # back to back, before each kind of work is timed


def idle_gap_probe(stack: localstack.Stack, key: str) -> str:
    """The same small piece of work, timed after the load generator has spun (not slept) for each
    gap: p50 ms per gap. A call at concurrency 1 follows ~45 ms of generation, and whatever its
    code and data left in the caches may be gone by then; spinning keeps this core busy, so a
    slower call after a longer gap is the caches, not a core waking up. Three kinds of work:
    pure Python in this process (random reads over a few MB), a `SELECT 1` to the stack's
    PostgreSQL, and a whole `GET /v1/models` through the gateway (authentication, routing,
    the cached model list)."""
    import http.client
    import random
    from urllib.parse import urlsplit

    import psycopg

    table = [{"id": i, "name": f"item-{i}", "tags": ["a", "b", str(i)]} for i in range(20_000)]
    reads = [random.randrange(len(table)) for _ in range(3_000)]
    database = psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.postgres_port}/tianshu", autocommit=True)
    address = urlsplit(stack.gateway_url)
    gateway = http.client.HTTPConnection(address.hostname, address.port, timeout=30)

    def in_process() -> None:
        sum(len(table[i]["name"]) for i in reads)

    def select_one() -> None:
        database.execute("SELECT 1", prepare=True).fetchall()

    def models() -> None:
        gateway.request("GET", "/v1/models", headers={"Authorization": f"Bearer {key}"})
        response = gateway.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/v1/models: {response.status}")

    def spin(ms: float) -> None:
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            pass

    lines = ["| work, p50 (ms) after a gap of | " + " | ".join(f"{g:g} ms" for g in IDLE_GAPS_MS) + " |",
             "|---|" + "---:|" * len(IDLE_GAPS_MS)]
    try:
        for name, work in (("pure Python, in the load generator", in_process),
                           ("PostgreSQL `SELECT 1`", select_one), ("gateway `GET /v1/models`", models)):
            for _ in range(IDLE_GAP_WARMUP):  # /v1/models has not run yet: its code is still to be compiled
                work()
            cells = []
            for gap in IDLE_GAPS_MS:
                seconds = []
                for _ in range(IDLE_GAP_CALLS):
                    spin(gap)
                    started = time.perf_counter()
                    work()
                    seconds.append(time.perf_counter() - started)
                cells.append(f"{1000 * quantile(seconds, 0.5):.3f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    finally:
        database.close()
        gateway.close()
    return "\n".join(lines)


def start_memory_gateway(memory: localstack.Stack, probe: str = "readiness") -> localstack.Service:
    os.environ["TIANSHU_LIMITS_STORE"] = "memory"
    try:
        gateway = memory.start_gateway()
        memory.wait_gateway(gateway, probe=probe)
        return gateway
    finally:
        del os.environ["TIANSHU_LIMITS_STORE"]


def start_split(stack: localstack.Stack, memory: localstack.Stack, gateway_cpus: set[int]) -> None:
    """The stack with the gateways, PostgreSQL and this process on gateway_cpus and the inference
    service on the other cores (localstack's start_all says how). The load generator stays on the
    gateway's side too: the engine's cores then serve the engine and its service alone whichever
    path is measured, and the gateway path pays for sharing its cores with the client, which errs
    against the gateway."""
    stack.start_all(gateway_cpus)
    start_memory_gateway(memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,64")
    parser.add_argument("--rounds", type=int, default=3, help="turns each path takes per kind and concurrency")
    parser.add_argument("--requests", type=int, default=20, help="requests per round = max(this, 2 x concurrency)")
    parser.add_argument("--warmup", type=int, default=30000,
                        help="unary calls per gateway before measuring (the direct path: a fifth as many)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--lone-calls", type=int, default=0,
                        help="after the warm-up, this many unary calls one at a time through the PostgreSQL-store "
                             "gateway, each one's Server-Timing kept: prints every step's p50 / p90 / p99 and the "
                             "slowest calls (a diagnostic for the concurrency-1 tail)")
    parser.add_argument("--idle-gap-probe", action="store_true",
                        help="after the warm-up, time the same small work (in-process Python, PostgreSQL SELECT 1, "
                             "the gateway's GET /v1/models) after spinning 0.2 to 45 ms before each: how much a "
                             "call slows when the one before it was a generation ago")
    parser.add_argument("--gateway-cpus", default="",
                        help="e.g. 1: the gateways, their PostgreSQL and the load generator on these cores, the inference "
                             "service and its engine on the others (the gateway on hardware of its own, as "
                             "in production, instead of sharing every core with the engine)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    # The requests are a few dozen tokens each: 1 GiB of KV cache holds 64 of them many times over,
    # and leaves memory to the other engines this shared machine may be running.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    stack = localstack.Stack(log_dir=ROOT / "build" / "logs" / "bench-gateway", with_rag=False, with_batch=False,
                             inference_port=localstack.free_port(), inference_metrics_port=0,
                             gateway_port=localstack.free_port(), postgres_port=localstack.free_port())
    # The second gateway: same database and inference service, its own port and logs.
    memory = dataclasses.replace(stack, gateway_port=localstack.free_port(), log_dir=stack.log_dir / "memory",
                                 state_dir=stack.state, services=[], _postgres_data=None, _kafka_data=None)
    results: list[Result] = []
    warmup: dict[str, list[float]] = {}  # gateway path -> its JVM's CPU ms per call, block by block
    failure: Exception | None = None
    gaps = ""  # the idle-gap probe's table, when asked for
    try:
        if args.gateway_cpus:
            start_split(stack, memory, {int(c) for c in args.gateway_cpus.split(",")})
        else:
            stack.start_all()
            start_memory_gateway(memory)
        with contextlib.ExitStack() as closing, ThreadPoolExecutor(max_workers=max(levels + [WARMUP_CONCURRENCY])) as threads:
            key = benchmark_key(stack)
            grpc_side, channel = grpc_calls(stack)
            gateway_side = gateway_calls(stack, key)
            memory_side = gateway_calls(memory, key)
            closing.callback(channel.close)
            calls = {"grpc": grpc_side, "gateway": gateway_side, "gateway-memory": memory_side}
            # The JVM compiles its hot paths over tens of thousands of requests: its CPU per call,
            # eight callers, fell from 16.5 ms over the first 2,000 calls to 8.1 by 6,000, 3.9 by
            # 18,000 and 2.5 after 30,000 (C1 alone levels off at 4-4.5). A gateway in production
            # is warm, so the gateways are measured warm and the warm-up's own curve is reported.
            # The engine and the service warm within a few thousand calls.
            pids = {"gateway": gateway_pid(stack), "gateway-memory": gateway_pid(memory)}
            for path in PATHS:
                if path in pids:
                    warmup[path] = warm_up(calls[path]["unary"], args.warmup, pids[path], threads)
                else:
                    run_round(Result("unary", path, WARMUP_CONCURRENCY), calls[path]["unary"], args.warmup // 5, threads)
                run_round(Result("stream", path, 8), calls[path]["stream"], WARMUP_STREAMS, threads)
            if args.lone_calls:
                print(lone_calls(calls["gateway"]["unary"], args.lone_calls), file=sys.stderr, flush=True)
            if args.idle_gap_probe:
                gaps = idle_gap_probe(stack, key)
                print(gaps, file=sys.stderr, flush=True)
            for kind in ("unary", "stream"):
                for concurrency in levels:
                    level = {path: Result(kind, path, concurrency) for path in PATHS}
                    count = max(args.requests, 2 * concurrency)
                    for turn in range(args.rounds):
                        order = PATHS[turn % len(PATHS):] + PATHS[:turn % len(PATHS)]
                        for path in order:
                            run_round(level[path], calls[path][kind], count, threads)
                    for r in level.values():
                        print(f"   {kind:<6} c={concurrency:<3} {r.path:<8} {r.per_second:7.1f} req/s  "
                              f"p50 {r.ms(0.5):7.1f} ms  p99 {r.ms(0.99):7.1f} ms", file=sys.stderr, flush=True)
                    results += level.values()
    except Exception as e:  # noqa: BLE001 - the rows measured so far are still worth recording
        failure = e
    finally:
        memory.stop_all()
        stack.stop_all()
    if failure is not None and not results:
        raise failure

    table = report(results)
    steps = report_steps(results)
    print(table)
    print()
    print(steps)
    if args.no_write:
        if failure is not None:
            raise failure
        return
    command = rerun_command("gateway_bench.py", "bench-gateway")
    layout = (f", the gateways, PostgreSQL and the load generator on cores {args.gateway_cpus} and the inference "
              f"service on the others" if args.gateway_cpus else "")
    body = (f"## Gateway overhead: through the gateway vs straight to the gRPC service\n\n"
            f"{run_context(command, MODEL)}; gateway, inference service, PostgreSQL and the load generator on "
            f"the same machine{layout}; each gateway warmed with {args.warmup:,} unary calls, the direct path with "
            f"{args.warmup // 5:,}, each path with {WARMUP_STREAMS} streams; then {args.rounds} rounds per row of max({args.requests}, 2 x concurrency) "
            f"requests, the paths taking turns). The gateway paths include authentication, counting the "
            f"prompt, admission (buckets in PostgreSQL for `gateway`, the default; in the gateway's memory "
            f"for `gateway-memory`, the single-instance option) and the usage write; their figures are the "
            f"whole HTTP call as a client sees it (Python's http.client on keep-alive connections; the "
            f"direct path uses grpc's C client). `gateway adds (p50)` compares the p50s of two "
            f"paths, so the engine's own swing between calls lands in it; `paired` takes each gateway "
            f"call's time less the Generate call the gateway made for it (from its `Server-Timing`), "
            f"which is what the gateway, its HTTP stack and the HTTP client added to that very call."
            f"\n\n{table}\n\n"
            f"Where the gateway's time goes, as it reports it in each response's `Server-Timing` header "
            f"(`gateway` is all the gateway's own time, the steps included: `request` before the Generate "
            f"call starts, `response` after its first message until the response headers; `backend` the "
            f"Generate call, for a stream to its first message; `count` is the prompt counted in the gateway with the "
            f"model's own tokenizer and chat template, `tokenize` the Tokenize RPC to the inference service "
            f"that replaces it until the gateway has checked that tokenizer, `admit` the rate-limit step (a PostgreSQL transaction, or in memory), `auth` the api-key "
            f"check):\n\n{steps}\n")
    if warmup:
        body += (f"\nThe warm-up, {WARMUP_CONCURRENCY} callers: each gateway's CPU per call (from /proc) over "
                 f"blocks of {WARMUP_BLOCK:,} calls, by the calls it had served at the end of the block — what "
                 f"a new instance costs while its JIT compiles:\n\n{report_warmup(warmup)}\n")
    if gaps:
        body += (f"\nThe same small work after the load generator spun for a while before each "
                 f"({IDLE_GAP_CALLS} of each; `--idle-gap-probe`):\n\n{gaps}\n")
    if failure is not None:
        body += f"\nIncomplete run: the rows above were measured, then it stopped on `{failure!r:.300}`.\n"
    write_section(ROOT / "docs" / "benchmarks.md", "gateway-bench", body)
    if failure is not None:
        sys.exit(f"stopped early: {failure!r}")


if __name__ == "__main__":
    main()

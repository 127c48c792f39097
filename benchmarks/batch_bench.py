"""Batch jobs: 1,000 chat lines through the whole pipeline against vLLM offline, and what a
running batch does to interactive calls.

  (a) offline  - vLLM's `LLM.generate` in a process of its own, all lines at once, with the
                 inference service's engine settings: the engine's limit for this work.
  (b) pipeline - the same lines as an OpenAI batch file through the gateway: POST /v1/files,
                 POST /v1/batches, then Kafka, the batch worker, the inference service (at
                 batch priority), results in PostgreSQL; timed from the batch's creation until
                 it is completed.
  (c) interactive time to first token - streaming chat calls, one at a time, first with nothing
      else running (idle), then while (b) runs: through the gateway with the `openai` client, as
      an application sees it, and, taking turns with those, the same chat straight to the
      inference service over gRPC, which leaves out the gateway's and the client's fixed costs
      and so shows what the batch does to the engine's share of the wait.
With --batch-instance a second inference instance takes the batch (the batch worker feeds only
it, the gateway balances interactive calls over both by load), its engine's worker on the upper
half of the cores and every other process, this one included, on the lower half; the gRPC probes
go to the first instance.
Items/s and output tokens/s are from the usage each side reports. Writes its table into
docs/benchmarks.md between its own markers.

Run: make bench-batch   (about 20 minutes on 2 CPU cores); --items 200 for a quick run
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localstack  # noqa: E402
from docs_section import rerun_command, run_context, write_section  # noqa: E402

MODEL = "smollm2-135m-instruct"
SUBJECTS = ["a refund that never arrived", "a login that fails after a password reset", "an invoice in the wrong currency",
            "a parcel delivered to a neighbour", "an app that crashes on start", "a duplicate charge",
            "a missing feature in the export", "a slow dashboard", "a cancelled subscription still billed",
            "a question about data retention"]


def lines(count: int) -> list[dict]:
    """Support tickets to summarise, no two alike."""
    return [{"custom_id": f"ticket-{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": MODEL, "temperature": 0, "max_tokens": MAX_TOKENS,
                      "messages": [{"role": "user", "content": f"Summarise support ticket #{i} in one sentence: "
                                                               f"the customer writes about {SUBJECTS[i % len(SUBJECTS)]}."}]}}
            for i in range(count)]


MAX_TOKENS = 32
GATEWAY_WARMUP = 400
OFFLINE_RESULT = "offline result: "


# --- (a) offline, in a process of its own so that its engine's memory is gone afterwards ------
def offline(count: int) -> dict:
    from vllm import LLM, SamplingParams

    from tianshu_inference import host_dtype, model_store
    from tianshu_inference.settings import InferenceSettings

    settings = InferenceSettings()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(settings.cpu_kv_cache_gib))
    llm = LLM(model=str(model_store.chat_model_path(settings)), dtype=host_dtype.engine_dtype(settings.dtype),
              max_model_len=settings.max_model_len, enforce_eager=settings.enforce_eager,
              max_num_seqs=settings.max_num_seqs, block_size=settings.kv_block_size or None)
    tokenizer = llm.get_tokenizer()
    prompts = [{"prompt_token_ids": tokenizer.encode(
        tokenizer.apply_chat_template(line["body"]["messages"], tokenize=False, add_generation_prompt=True),
        add_special_tokens=False)} for line in lines(count)]
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0)
    started = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - started
    return {"items": len(outputs), "seconds": seconds,
            "output_tokens": sum(len(o.outputs[0].token_ids) for o in outputs)}


# --- (b) and (c) through the real services -----------------------------------------------
PROBE = [{"role": "user", "content": "Say hello."}]


def ttft(client, max_tokens: int = 8) -> float:
    started = time.perf_counter()
    stream = client.chat.completions.create(model=MODEL, stream=True, max_tokens=max_tokens, temperature=0,
                                            messages=PROBE)
    first = None
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    return first


def direct_ttft(stub) -> float:
    from tianshu.inference.v1 import inference_pb2 as pb

    generation = pb.Generation(model=MODEL, messages=[pb.ChatMessage(**m) for m in PROBE],
                               sampling=pb.SamplingParams(max_tokens=8, temperature=0))
    started, first = time.perf_counter(), None
    for message in stub.GenerateStream(pb.GenerateRequest(generation=generation)):
        if first is None and message.text:
            first = time.perf_counter() - started
    return first


def pipeline(stack: localstack.Stack, count: int, idle_samples: int, gateway_warmup: int) -> dict:
    import grpc
    from openai import OpenAI

    from tianshu.inference.v1 import inference_pb2_grpc

    client = OpenAI(base_url=f"{stack.gateway_url}/v1", api_key=stack.admin_key(), max_retries=0, timeout=600)
    stub = inference_pb2_grpc.InferenceServiceStub(grpc.insecure_channel(stack.inference_target))
    # The gateway's JIT needs hundreds of calls before a lone stream costs it what it will: with
    # three warm-up calls the idle figure carried 25-30 ms of compilation that the busy one, made
    # later, did not, which flattered the busy / idle ratio.
    for _ in range(gateway_warmup):
        ttft(client, max_tokens=1)
    for _ in range(3):  # template caches, connections
        ttft(client)
        direct_ttft(stub)
    idle, idle_direct = [], []
    for _ in range(idle_samples):
        idle.append(ttft(client))
        idle_direct.append(direct_ttft(stub))

    jsonl = "\n".join(json.dumps(line) for line in lines(count)).encode()
    uploaded = client.files.create(file=("tickets.jsonl", io.BytesIO(jsonl)), purpose="batch")
    started = time.perf_counter()
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    busy: list[float] = []
    busy_direct: list[float] = []
    done = threading.Event()

    def probe():
        while not done.is_set():
            busy.append(ttft(client))
            done.wait(0.5)
            if not done.is_set():
                busy_direct.append(direct_ttft(stub))
                done.wait(0.5)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        time.sleep(1)
        batch = client.batches.retrieve(batch.id)
    seconds = time.perf_counter() - started
    done.set()
    prober.join()
    if batch.status != "completed":
        raise RuntimeError(f"batch ended {batch.status}: {batch}")
    output_tokens = 0
    content = client.files.content(batch.output_file_id).text
    for line in content.splitlines():
        output_tokens += json.loads(line)["response"]["body"]["usage"]["completion_tokens"]
    return {"items": batch.request_counts.completed, "failed": batch.request_counts.failed, "seconds": seconds,
            "output_tokens": output_tokens, "idle_ttft": idle, "busy_ttft": busy,
            "idle_direct_ttft": idle_direct, "busy_direct_ttft": busy_direct}


def report(count: int, off: dict, pipe: dict, concurrency: int) -> str:
    def row(name, r, base):
        items, tokens = r["items"] / r["seconds"], r["output_tokens"] / r["seconds"]
        share = f"{100 * tokens / (base['output_tokens'] / base['seconds']):.1f}%"
        return f"| {name} | {r['items']} | {r['seconds']:.1f} | {items:.2f} | {tokens:.1f} | {share} |"

    def ms(values, q):
        ordered = sorted(values)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def ttft_rows(path, idle, busy):
        return [f"| {path} | idle | {len(idle)} | {ms(idle, 0.5):.1f} | {ms(idle, 0.99):.1f} | |",
                f"| {path} | while the batch runs | {len(busy)} | {ms(busy, 0.5):.1f} | {ms(busy, 0.99):.1f} | "
                f"**{statistics.median(busy) / statistics.median(idle):.2f}x** |"]

    idle, busy = pipe["idle_ttft"], pipe["busy_ttft"]
    return "\n".join([
        "| path | items completed | seconds | items/s | output tokens/s | of offline |",
        "|---|---:|---:|---:|---:|---:|",
        row("offline `LLM.generate` (the limit)", off, off),
        row(f"REST → Kafka → worker (concurrency {concurrency}) → inference", pipe, off),
        "",
        "| interactive streaming chat | when | calls | TTFT p50 (ms) | TTFT p99 (ms) | p50 busy / idle |",
        "|---|---|---:|---:|---:|---:|",
        *ttft_rows("through the gateway (`openai` client)", idle, busy),
        *ttft_rows("straight to the inference service (gRPC)", pipe["idle_direct_ttft"], pipe["busy_direct_ttft"]),
        "",
        f"Interactive TTFT p50 while the batch runs, through the gateway: "
        f"**{statistics.median(busy) / statistics.median(idle):.2f}x** idle (target: at most 2x). "
        f"Failed lines: {pipe['failed']}.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--worker-concurrency", type=int, default=None,
                        help="lines a batch worker keeps running (TIANSHU_BATCH_WORKER_CONCURRENCY); "
                             "default: the service's own default")
    parser.add_argument("--idle-samples", type=int, default=20)
    parser.add_argument("--gateway-warmup", type=int, default=GATEWAY_WARMUP,
                        help="streaming calls through the gateway before the idle samples (its JIT)")
    parser.add_argument("--batch-instance", action="store_true",
                        help="run a second inference instance that only the batch worker feeds; the gateway "
                             "balances interactive calls over both by load; its engine's worker on half the cores, "
                             "everything else on the other half")
    parser.add_argument("--offline-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    if args.offline_only:
        # vLLM logs to stdout too, also after this line: the caller looks for the marker.
        print(OFFLINE_RESULT + json.dumps(offline(args.items)), flush=True)
        return

    print(">> (a) offline LLM.generate", file=sys.stderr, flush=True)
    result = subprocess.run([sys.executable, __file__, "--offline-only", "--items", str(args.items)],
                            stdout=subprocess.PIPE, check=True, text=True)
    off = json.loads(next(line for line in result.stdout.splitlines() if line.startswith(OFFLINE_RESULT))
                     [len(OFFLINE_RESULT):])
    print(f"   offline {off}", file=sys.stderr, flush=True)

    if args.worker_concurrency:
        os.environ["TIANSHU_BATCH_WORKER_CONCURRENCY"] = str(args.worker_concurrency)
    stack = localstack.Stack(log_dir=ROOT / "build" / "logs" / "bench-batch", with_rag=False,
                             inference_port=localstack.free_port(), inference_metrics_port=localstack.free_port(),
                             gateway_port=localstack.free_port(), postgres_port=localstack.free_port(),
                             kafka_port=localstack.free_port(), kafka_controller_port=localstack.free_port(),
                             batch_port=localstack.free_port(), batch_metrics_port=localstack.free_port())
    if args.batch_instance:
        stack.batch_inference_port, stack.batch_inference_metrics_port = localstack.free_port(), localstack.free_port()
    try:
        stack.start_all()
        if stack.shared_cores:  # the probes too keep off the batch engine's cores
            os.sched_setaffinity(0, stack.shared_cores)
        print(">> (b, c) pipeline and interactive TTFT", file=sys.stderr, flush=True)
        pipe = pipeline(stack, args.items, args.idle_samples, args.gateway_warmup)
    finally:
        stack.stop_all()
    from tianshu_batch.settings import BatchSettings

    table = report(args.items, off, pipe, args.worker_concurrency or BatchSettings().worker_concurrency)
    print(table)
    if args.no_write:
        return
    layout = ("; a second inference instance that only the batch worker feeds, its engine's worker alone on half "
              "the cores, every other process on the other half, the gRPC probes to the first instance"
              if args.batch_instance else "")
    body = (f"## Batch jobs: REST → Kafka → worker → inference, against vLLM offline\n\n"
            f"{run_context(rerun_command('batch_bench.py', 'bench-batch'), MODEL)}; "
            f"{args.items} chat lines (support tickets to summarise, greedy, max_tokens {MAX_TOKENS}); gateway, "
            f"Kafka, PostgreSQL, the batch service and the inference service on the same machine; the gateway "
            f"warmed with {args.gateway_warmup} one-token streams before the idle samples{layout}). The offline "
            f"run uses the inference service's engine settings; the pipeline is timed from the batch's creation "
            f"to its completion.\n\n{table}\n")
    write_section(ROOT / "docs" / "benchmarks.md", "batch-bench", body)


if __name__ == "__main__":
    main()

"""RAG under bulk ingestion: one tenant's searches and embeddings while another tenant ingests.

The whole stack of `make run` without the batch service (inference, PostgreSQL, RAG service,
gateway), each its own process, everything through the gateway's REST API:
  1. direct reference - the chunk texts the RAG service will embed, embedded with
     sentence-transformers in this process (same model, same machine, batch size 32), before
     the stack starts; a sample of them is embedded again once the stack has stopped, so a
     machine that got faster or slower under the run (a shared host does) shows as such;
  2. warm-up - calls through the gateway until its JIT has compiled the hot paths, as a
     gateway in production has (--warmup);
  3. idle - tenant "reader" runs searches (vector, full_text, hybrid in turn) and
     /v1/embeddings calls at a steady rate (--rate calls/s, open loop: a slow answer does not
     slow the next call down) against a small collection of its own;
  4. under ingestion - tenant "loader" uploads --documents documents of real English text in
     uploads of --per-upload documents, all at once, while "reader" keeps its rate; ingestion
     is timed from the first upload to the last job SUCCEEDED, read once a second.
Reported: interactive p50/p99 idle vs during ingestion per kind, errors, and ingestion
chunks/s against the direct reference. Targets (the issue that asked for this): p99 during
ingestion <= 2x idle, ingestion >= 90% of direct embedding, no interactive error.

Run: make bench-rag ARGS='--scenario ingest-under-load'   (about 20 minutes on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import localstack  # noqa: E402
from docs_section import run_context, write_section  # noqa: E402
from gateway_bench import cpu_seconds as process_cpu_seconds, gateway_pid  # noqa: E402
from rag_bench import CORPUS, queries, say, source_texts  # noqa: E402

from tianshu_rag.ingestion.prepare import ChunkingLimits, DocumentInput, prepare  # noqa: E402
from tianshu_rag.ingestion.tokens import TokenCounter  # noqa: E402
from tianshu_rag.settings import RagSettings  # noqa: E402

MODEL = RagSettings().default_embedding_model
KINDS = ("search vector", "search full_text", "search hybrid", "embeddings")
SECTION = "rag-ingest-under-load"
CLIENT = "benchmark client"


# --- documents ------------------------------------------------------------------------------
def documents(count: int, rng: random.Random) -> list[DocumentInput]:
    """Short Markdown notes of real sentences (a heading and 3-7 sentences of one source):
    about one chunk each, like the many small documents of a knowledge base export."""
    sources = source_texts()
    made = []
    for i in range(count):
        source = rng.choice(sources)
        start = rng.randrange(len(source))
        sentences = (source[start:] + source[:start])[:rng.randint(3, 7)]
        made.append(DocumentInput(f"note-{i}", f"# Note {i}\n\n{' '.join(sentences)}\n".encode(), "text/markdown", {}))
    return made


def embedding_texts(docs: list[DocumentInput]) -> list[str]:
    """What the RAG service will send to the model for these documents: its own chunker's output."""
    settings = RagSettings()
    limits = ChunkingLimits(settings.chunk_tokens, settings.chunk_overlap_tokens, settings.max_document_bytes,
                            settings.max_documents_per_ingest)
    tokens = TokenCounter(settings.tokenizer_path)
    texts = []
    for start in range(0, len(docs), 1000):
        for prepared in prepare(docs[start:start + 1000], tokens, limits):
            texts += prepared.embedding_texts()
    return texts


def direct_embedding(texts: list[str]) -> tuple[float, float]:
    """Chunks/s of sentence-transformers itself on these texts, in this process, and the CPU
    seconds (all its threads) that took."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from tianshu_inference import model_store
    from tianshu_inference.settings import InferenceSettings

    model = SentenceTransformer(str(model_store.embed_model_path(InferenceSettings())), device="cpu")
    model.encode(texts[:64], batch_size=32)  # warm-up
    started, cpu_started = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    return len(texts) / (time.perf_counter() - started), time.process_time() - cpu_started


# --- interactive load -------------------------------------------------------------------------
@dataclass
class Calls:
    """Latencies (s) by phase and kind, the failures seen, and each call as it happened (its
    start on the wall clock, its gateway's Server-Timing) for --calls-out."""
    latencies: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    errors: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    each: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, phase: str, kind: str, seconds: float, error: str | None, started_at: float = 0.0,
               answer: tuple[str, str] = ("", "")) -> None:
        with self.lock:
            if error:
                self.errors.setdefault((phase, kind), []).append(error)
            else:
                self.latencies.setdefault((phase, kind), []).append(seconds)
            self.each.append({"phase": phase, "kind": kind, "started_at": started_at, "ms": round(seconds * 1000, 2),
                              "server_timing": answer[0], "request_id": answer[1], "error": error})


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus page, by name and labels."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(url, timeout=10).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def mean_ms(before: dict, after: dict, histogram: str, **labels: str) -> float:
    """Mean of a histogram's observations between two scrapes, in ms; labels not given are summed."""
    def total(page: dict, suffix: str) -> float:
        return sum(v for (name, found), v in page.items()
                   if name == histogram + suffix and set(labels.items()) <= found)

    count = total(after, "_count") - total(before, "_count")
    return (total(after, "_sum") - total(before, "_sum")) / count * 1000 if count else float("nan")


def breakdown(before: dict, after: dict, calls: Calls, phase: str) -> list[str]:
    """Where an interactive call's time goes, from each layer's own metrics (means, ms)."""
    def client(kind: str) -> float:
        values = calls.latencies.get((phase, kind), [])
        return statistics.fmean(values) * 1000 if values else float("nan")

    def gateway(uri: str) -> float:
        return mean_ms(before["gateway"], after["gateway"], "http_server_requests_seconds", uri=uri)

    embed_queue = mean_ms(before["inference"], after["inference"], "tianshu_inference_embed_queue_seconds",
                          priority="interactive")
    embed_step = mean_ms(before["inference"], after["inference"], "tianshu_inference_embed_step_seconds",
                         priority="interactive")
    rows = ["| call | client | gateway (server) | RAG search | its SQL | query embedding: wait + step |",
            "|---|---|---|---|---|---|"]
    sql = {retriever: mean_ms(before["rag"], after["rag"], "tianshu_rag_retriever_latency_seconds",
                              retriever=retriever) for retriever in ("vector", "full_text")}
    sql["hybrid"] = max(sql.values())
    for kind in KINDS[:3]:
        mode = kind.split()[1]
        rows.append(f"| {kind} | {client(kind):.1f} | {gateway('/v1/rag/collections/{name}/search'):.1f} | "
                    f"{mean_ms(before['rag'], after['rag'], 'tianshu_rag_search_latency_seconds', mode=mode):.1f} | "
                    f"{sql[mode]:.1f} | {'-' if mode == 'full_text' else f'{embed_queue:.1f} + {embed_step:.1f}'} |")
    rows.append(f"| embeddings | {client('embeddings'):.1f} | {gateway('/v1/embeddings'):.1f} | - | - | "
                f"{embed_queue:.1f} + {embed_step:.1f} |")
    return rows


LAG_HEADER = ["| event loop | timers | late > 10 / 25 / 50 / 100 ms | latest (ms, bucket) |", "|---|---:|---|---|"]


def loop_lag(before: dict, after: dict, phase: str) -> list[str]:
    """How late the Python services' event loops ran their 100 ms timers in a phase
    (python_event_loop_lag_seconds): a call's tail that matches is the loop busy, not its work."""
    rows = []
    for service in ("rag", "inference"):
        def count(le: str) -> float:
            key = ("python_event_loop_lag_seconds_bucket", frozenset({("le", le)}))
            return after[service].get(key, 0.0) - before[service].get(key, 0.0)

        total = count("+Inf")
        edges = sorted((float(le), le) for (name, labels) in after[service]
                       if name == "python_event_loop_lag_seconds_bucket" for key, le in labels if key == "le")
        latest = next((f"<= {float(le) * 1000:g}" for _, le in edges if count(le) == total), "-")
        late = " / ".join(f"{total - count(le):.0f}" for le in ("0.01", "0.025", "0.05", "0.1"))
        rows.append(f"| {service}, {phase} | {total:.0f} | {late} | {latest if total else '-'} |")
    return rows


def scrape_all(stack: localstack.Stack) -> dict[str, dict]:
    return {"gateway": scrape(f"{stack.gateway_url}/actuator/prometheus"),
            "rag": scrape(f"http://127.0.0.1:{stack.rag_metrics_port}/metrics"),
            "inference": scrape(f"http://127.0.0.1:{stack.inference_metrics_port}/metrics")}


def cpu_seconds(stack: localstack.Stack) -> dict[str, float]:
    """CPU seconds each service of the stack has used so far, its child processes included
    (PostgreSQL's backends, vLLM's engine), and this benchmark process's own."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # ppid, then utime + stime (+ cutime + cstime: children that ended), in ticks.
            stats[int(proc.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / ticks)

    def tree(pid: int) -> float:
        return stats.get(pid, (0, 0.0))[1] + sum(tree(child) for child, (ppid, _) in stats.items() if ppid == pid)

    used = {service.name: tree(service.process.pid) for service in stack.services}
    used[CLIENT] = stats.get(os.getpid(), (0, 0.0))[1]
    return used


def interactive_call(client: httpx.Client, kind: str, query: str) -> tuple[str, str]:
    """Makes the call; returns the gateway's Server-Timing header and the call's request id (the
    services behind log it with theirs)."""
    if kind == "embeddings":
        response = client.post("/v1/embeddings", json={"model": MODEL, "input": query})
    else:
        response = client.post("/v1/rag/collections/handbook/search",
                               json={"query": query, "mode": kind.split()[1], "top_k": 10})
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code} {response.text[:200]}")
    return response.headers.get("server-timing", ""), response.headers.get("x-request-id", "")


def run_interactive(client: httpx.Client, asked: list[str], rate: float, phase: str, calls: Calls,
                    until: threading.Event, pool: ThreadPoolExecutor) -> int:
    """Issues calls at a fixed rate until `until` is set; returns how many were issued."""
    interval, issued = 1.0 / rate, 0
    next_at = time.perf_counter()
    while not until.is_set():
        kind, query = KINDS[issued % len(KINDS)], asked[issued % len(asked)]

        def one(kind=kind, query=query) -> None:
            started, started_at = time.perf_counter(), time.time()
            try:
                answer = interactive_call(client, kind, query)
                calls.record(phase, kind, time.perf_counter() - started, None, started_at, answer)
            except Exception as error:  # noqa: BLE001 - every failure is a result to report
                calls.record(phase, kind, time.perf_counter() - started, str(error), started_at)

        pool.submit(one)
        issued += 1
        next_at += interval
        until.wait(max(0.0, next_at - time.perf_counter()))
    return issued


# --- ingestion --------------------------------------------------------------------------------
def upload_body(docs: list[DocumentInput]) -> bytes:
    """An upload's JSON, encoded ahead: the loading tenant is another client, and encoding 20 MB of
    it in this process while the reader's calls are timed here would hold their threads back
    (Python's GIL), which no gateway could cause or cure."""
    return json.dumps({"documents": [{"id": d.document_id, "content": base64.b64encode(d.content).decode(),
                                      "content_type": d.content_type} for d in docs]}).encode()


def upload(client: httpx.Client, collection: str, body: bytes) -> str:
    response = client.post(f"/v1/rag/collections/{collection}/documents", content=body,
                           headers={"Content-Type": "application/json"})
    if response.status_code != 202:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")
    return response.json()["id"]


def wait_jobs(client: httpx.Client, job_ids: list[str], timeout: float) -> list[dict]:
    """Waits for every job to end, reading one job a second: the oldest unfinished one (a
    tenant's jobs start in the order they came), and once it ended, the next ones at once until
    one has not. Reading all 20 jobs every second would add some 5,000 calls through the
    gateway, the RAG service and PostgreSQL to the work being measured."""
    deadline, done = time.monotonic() + timeout, {}
    pending = list(job_ids)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} ingest jobs unfinished after {timeout:.0f} s")
        job = client.get(f"/v1/rag/jobs/{pending[0]}").raise_for_status().json()
        if job["status"] in ("succeeded", "failed"):
            if job["status"] == "failed":
                raise RuntimeError(f"ingest job {pending[0]} failed: {job.get('error')}")
            done[pending.pop(0)] = job
            continue
        time.sleep(1.0)
    return [done[j] for j in job_ids]


def warm_up(client: httpx.Client, job_id: str, asked: list[str], calls: int, pid: int) -> float:
    """The gateway warm, as in production (its JIT keeps compiling for tens of thousands of
    calls; bench-gateway shows the curve): `calls` reads of a job and one interactive call of
    each kind per 20 of them, 32 at a time. Returns the gateway JVM's CPU ms per call over the
    last 2,000."""
    def one(i: int) -> None:
        if i % 20 == 0:
            interactive_call(client, KINDS[(i // 20) % len(KINDS)], asked[(i // 20) % len(asked)])
        else:
            client.get(f"/v1/rag/jobs/{job_id}").raise_for_status()

    per_call = float("nan")
    with ThreadPoolExecutor(max_workers=32) as pool:
        for start in range(0, calls, 2000):
            block = range(start, min(calls, start + 2000))
            before = process_cpu_seconds(pid)
            list(pool.map(one, block))
            per_call = 1000 * (process_cpu_seconds(pid) - before) / len(block)
            say(f"   warm-up {block.stop:>6} calls: gateway CPU {per_call:.2f} ms/call")
    return per_call


def tenant_client(stack: localstack.Stack, tenant: str) -> httpx.Client:
    admin = httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.admin_key()}"},
                         timeout=60)
    admin.post("/v1/admin/tenants", json={"id": tenant, "rpm": 1_000_000, "tpm": 1_000_000_000}).raise_for_status()
    key = admin.post("/v1/admin/keys", json={"tenant": tenant, "name": "bench", "scopes": [
        "rag:read", "rag:write", "embeddings"]}).raise_for_status().json()["key"]
    return httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))


# --- report -----------------------------------------------------------------------------------
def write_calls(path: Path, calls: Calls, uploads_at: float, uploads_took: float) -> None:
    """One JSON line per interactive call, its start in seconds after the first upload began (the
    uploads themselves took the first line's `uploads_took` seconds)."""
    with path.open("w") as out:
        out.write(json.dumps({"uploads_took": round(uploads_took, 3)}) + "\n")
        for call in sorted(calls.each, key=lambda c: c["started_at"]):
            out.write(json.dumps({**call, "started_at": round(call["started_at"] - uploads_at, 3)}) + "\n")
    say(f"every interactive call written to {path}")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# Every how many-th text the machine-speed check embeds, before and after the run.
CHECK_EVERY = 5


@dataclass(frozen=True)
class MachineCheck:
    """The same sample of texts embedded directly before the stack started and after it stopped."""
    texts: int
    before: float  # chunks/s
    after: float

    def during(self, direct_rate: float) -> float:
        """The direct rate the machine most likely had during the run: the full measurement,
        moved halfway along the sample's drift."""
        return direct_rate * (1 + self.after / self.before) / 2


def report(command: str, calls: Calls, chunks: int, ingest_seconds: float, direct_rate: float, direct_cpu: float,
           uploads: int, docs: int, layers: dict[str, list[str]], cpu: dict[str, float], warmup: int,
           warm_cpu: float, check: MachineCheck) -> str:
    rows = ["| call | idle p50 / p99 (ms) | during ingestion p50 / p99 (ms) | p99 ratio | calls idle / during | errors |",
            "|---|---|---|---|---|---|"]
    worst, errors = 0.0, 0
    for kind in KINDS:
        idle, busy = calls.latencies.get(("idle", kind), []), calls.latencies.get(("load", kind), [])
        failed = len(calls.errors.get(("idle", kind), [])) + len(calls.errors.get(("load", kind), []))
        errors += failed
        ratio = quantile(busy, 0.99) / quantile(idle, 0.99) if idle and busy else float("nan")
        worst = max(worst, ratio)
        rows.append(f"| {kind} | {quantile(idle, .5) * 1000:.1f} / {quantile(idle, .99) * 1000:.1f} | "
                    f"{quantile(busy, .5) * 1000:.1f} / {quantile(busy, .99) * 1000:.1f} | {ratio:.2f}x | "
                    f"{len(idle)} / {len(busy)} | {failed} |")
    rate = chunks / ingest_seconds
    share_before = rate / direct_rate
    share = rate / check.during(direct_rate)
    cores = os.cpu_count() or 1
    others = sum(seconds for name, seconds in cpu.items() if name not in ("inference", CLIENT))
    ceiling = chunks / ((direct_cpu + others) / cores)
    first_errors = [f"- {phase} {kind}: {messages[0]}" for (phase, kind), messages in calls.errors.items()]
    return "\n".join([
        "## RAG under bulk ingestion",
        "",
        run_context(command, MODEL) + "; inference, PostgreSQL, RAG service and gateway as separate processes, "
        "every call through the gateway).",
        "",
        f"Tenant `loader` uploads {docs:,} documents ({chunks:,} chunks) in {uploads} uploads at once; tenant "
        "`reader` searches its own collection and calls /v1/embeddings at a steady rate, idle and then during "
        f"the ingestion. Before the idle phase the gateway is warmed as in production with {warmup:,} calls "
        f"(reads of a job, every 20th a search or an embedding; its JVM's CPU per call over the last 2,000: "
        f"{warm_cpu:.2f} ms). The client follows its jobs by reading the oldest unfinished one once a second.",
        "",
        *rows,
        "",
        f"Ingestion: {chunks:,} chunks in {ingest_seconds:.0f} s = **{rate:.1f} chunks/s**, against "
        f"sentence-transformers embedding the same texts in one process at {direct_rate:.1f} chunks/s: "
        f"{share_before:.1%} of direct. The machine's own speed moved under the run: the same {check.texts:,} "
        f"texts (every {CHECK_EVERY}th) embedded directly at {check.before:.1f} chunks/s before the stack "
        f"started and {check.after:.1f} after it stopped ({check.after / check.before - 1:+.1%}); against direct "
        f"moved halfway along that ({check.during(direct_rate):.1f} chunks/s), ingestion ran at "
        f"**{share:.1%} of direct**. CPU seconds used during the ingestion, by process (the 2 cores give "
        f"{cores * ingest_seconds:.0f}): " + ", ".join(f"{name} {seconds:.0f}" for name, seconds in
                                                       sorted(cpu.items(), key=lambda item: -item[1])) + ". "
        f"Embedding the chunks directly took {direct_cpu:.0f} CPU seconds; the rest of the platform's work "
        f"(the gateway, the RAG service and PostgreSQL) took {others:.0f}. Even with the embedding as cheap as "
        f"direct and the cores never idle, these {cores} cores could ingest at most "
        f"{ceiling:.1f} chunks/s ({ceiling / direct_rate:.0%} of direct) while serving the interactive calls.",
        "",
        f"Targets: p99 during ingestion <= 2x idle — worst {worst:.2f}x, "
        f"{'met' if worst <= 2 else 'not met'}; ingestion >= 90% of direct — {share:.1%}, "
        f"{'met' if share >= 0.9 else 'not met'}; no interactive error — {errors} "
        f"({'met' if errors == 0 else 'not met'}).",
        *([""] + first_errors if first_errors else []),
        "",
        "Where an interactive call's time goes, idle (means in ms, each layer's own metrics; the hybrid row's SQL "
        "is the slower retriever's, both run at once; SQL means are over every search of the phase):",
        "",
        *layers["idle"],
        "",
        "The same during ingestion:",
        "",
        *layers["load"],
        "",
        "How late the Python services' event loops ran a timer due every 100 ms (every call such a service "
        "answers waits while its loop is busy; `python_event_loop_lag_seconds`):",
        "",
        *layers["lag"],
    ])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20_000, help="documents the loading tenant ingests")
    parser.add_argument("--per-upload", type=int, default=1000, help="documents per upload (the service's limit)")
    parser.add_argument("--rate", type=float, default=4.0, help="interactive calls per second")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="interactive calls before ingestion")
    parser.add_argument("--warmup", type=int, default=20_000,
                        help="calls through the gateway before the idle phase (reads of a job, every 20th "
                             "a search or an embedding)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--calls-out", type=Path,
                        help="also write every interactive call (phase, seconds after the first upload, "
                             "latency, the gateway's Server-Timing, the request id the services log) as JSON lines here: where a tail call's "
                             "time went")
    args = parser.parse_args(argv)
    rng = random.Random(20261205)

    say(f"making {args.documents:,} documents and their chunks with the service's own chunker")
    docs = documents(args.documents, rng)
    texts = embedding_texts(docs)
    say(f"   {len(texts):,} chunks; embedding them directly with sentence-transformers")
    direct_rate, direct_cpu = direct_embedding(texts)
    say(f"   direct: {direct_rate:.1f} chunks/s, {direct_cpu:.0f} CPU seconds")
    sample = texts[::CHECK_EVERY]
    sample_before, _ = direct_embedding(sample)
    say(f"   machine check, {len(sample):,} of them: {sample_before:.1f} chunks/s")
    asked = queries(source_texts(), 200, rng)

    stack = localstack.Stack(log_dir=ROOT / "build" / "logs" / "bench-rag-load", inference_port=localstack.free_port(),
                             inference_metrics_port=localstack.free_port(), gateway_port=localstack.free_port(),
                             rag_port=localstack.free_port(), rag_metrics_port=localstack.free_port(),
                             postgres_port=localstack.free_port(), with_batch=False)
    calls = Calls()
    try:
        stack.start_all()
        reader, loader = tenant_client(stack, "reader"), tenant_client(stack, "loader")
        for client, name in ((reader, "handbook"), (loader, "archive")):
            client.post("/v1/rag/collections", json={"name": name}).raise_for_status()
        handbook = [DocumentInput(p.stem, p.read_bytes(), "text/html" if p.suffix == ".html" else "text/markdown", {})
                    for p in sorted(CORPUS.iterdir()) if p.suffix in (".md", ".html")]
        handbook_job = upload(reader, "handbook", upload_body(handbook))
        wait_jobs(reader, [handbook_job], timeout=600)
        say(f"warm-up: {args.warmup:,} calls through the gateway")
        warm_cpu = warm_up(reader, handbook_job, asked, args.warmup, gateway_pid(stack))

        with ThreadPoolExecutor(max_workers=64) as pool:
            say(f"idle: {args.rate} interactive calls/s for {args.idle_seconds:.0f} s")
            stop = threading.Event()
            threading.Timer(args.idle_seconds, stop.set).start()
            pages = [scrape_all(stack)]
            run_interactive(reader, asked, args.rate, "idle", calls, stop, pool)
            pool.submit(lambda: None).result()
            time.sleep(2)  # the last calls of the phase answer before the layers are read
            pages.append(scrape_all(stack))

            say(f"under ingestion: {args.documents:,} documents in uploads of {args.per_upload}")
            bodies = [upload_body(docs[i:i + args.per_upload]) for i in range(0, len(docs), args.per_upload)]
            loading = threading.Event()
            job_ids: list[str] = []
            result: dict = {}

            def ingest() -> None:
                try:
                    started = time.perf_counter()
                    result["uploads_at"] = time.time()
                    with ThreadPoolExecutor(max_workers=len(bodies)) as uploads:
                        job_ids.extend(uploads.map(lambda body: upload(loader, "archive", body), bodies))
                    result["uploads_took"] = time.time() - result["uploads_at"]
                    jobs = wait_jobs(loader, job_ids, timeout=7200)
                    result["seconds"] = time.perf_counter() - started
                    result["chunks"] = sum(j["chunks_done"] for j in jobs)
                except Exception as error:  # noqa: BLE001 - reported after the interactive load stops
                    result["error"] = error
                finally:
                    loading.set()

            cpu_before = cpu_seconds(stack)
            threading.Thread(target=ingest, name="ingest").start()
            run_interactive(reader, asked, args.rate, "load", calls, loading, pool)
            cpu_after = cpu_seconds(stack)
            time.sleep(2)
            pages.append(scrape_all(stack))
        if "error" in result:
            raise result["error"]
        layers = {"idle": breakdown(pages[0], pages[1], calls, "idle"),
                  "load": breakdown(pages[1], pages[2], calls, "load"),
                  "lag": [*LAG_HEADER, *loop_lag(pages[0], pages[1], "idle"),
                          *loop_lag(pages[1], pages[2], "during ingestion")]}
    finally:
        stack.stop_all()
    sample_after, _ = direct_embedding(sample)
    say(f"   machine check again, after the run: {sample_after:.1f} chunks/s")
    check = MachineCheck(len(sample), sample_before, sample_after)

    command = "make bench-rag ARGS='" + " ".join(sys.argv[1:]) + "'"
    cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    body = report(command, calls, result["chunks"], result["seconds"], direct_rate, direct_cpu, len(job_ids),
                  len(docs), layers, cpu, args.warmup, warm_cpu, check)
    print(body)
    if args.calls_out:
        write_calls(args.calls_out, calls, result["uploads_at"], result["uploads_took"])
    if not args.no_write:
        write_section(ROOT / "docs" / "benchmarks.md", SECTION, body)

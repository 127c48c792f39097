"""RAG benchmark: ingestion throughput, search latency and HNSW recall on the real services.

The inference service (all-MiniLM-L6-v2 behind its Embed RPC), PostgreSQL 18 + pgvector and
the RAG service run as their own processes (scripts/localstack.py), as in `make run`.
  (a) ingestion - documents of real English text (about --ingest-chunks chunks) through
      IngestDocuments, timed from the call until WatchIngestJob reports SUCCEEDED: parsing,
      chunking, embedding with the real model and the transactional COPY all included.
  (b) search    - a collection of --chunks chunks (100,000 by default); Search RPC latency
      p50/p99 for vector, full-text and hybrid, each query embedded by the real model.
  (c) recall    - recall@10 of the HNSW index against exact search (the same SQL with index
      scans disabled, i.e. a sequential scan) for the same real query embeddings, at the
      service's default hnsw_ef_search and at a few other values.
Embedding 100,000 chunks with the model on 2 CPU cores would take about half an hour, so
the (b)/(c) collection is bulk-loaded: each chunk is a few real sentences, and its vector
is the L2-normalised mean of the real model's embeddings of those sentences (see
docs/benchmarks.md). The text is real, so full-text search sees real words.

Run: make bench-rag   (sized for about 15 minutes on 2 quiet CPU cores); --chunks 20000 for a quick run
     make bench-rag ARGS='--scenario ingest-under-load'   interactive calls while another tenant
     ingests (rag_ingest_load_bench.py)
     make bench-rag ARGS='--scenario full-text'   BM25 search at 100,000 chunks of InsuranceQA
     text, four callers at once (rag_full_text_bench.py)
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import random
import re
import statistics
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg import sql
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localstack  # noqa: E402
from docs_section import write_section  # noqa: E402

import grpc  # noqa: E402
from tianshu.inference.v1 import inference_pb2, inference_pb2_grpc  # noqa: E402
from tianshu.rag.v1 import rag_pb2 as pb  # noqa: E402
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc  # noqa: E402

from tianshu_rag.ingestion.prepare import ChunkingLimits, DocumentInput, prepare  # noqa: E402
from tianshu_rag.ingestion.tokens import TokenCounter  # noqa: E402
from tianshu_rag.retrieval import candidates  # noqa: E402
from tianshu_rag.settings import RagSettings  # noqa: E402
from tianshu_rag.storage import documents as document_store  # noqa: E402
from tianshu_rag.storage.collections import CollectionStore  # noqa: E402
from tianshu_rag.storage.database import Database  # noqa: E402

TENANT = "bench"
MODEL = RagSettings().default_embedding_model
CORPUS = ROOT / "python-rag" / "eval" / "corpus"
QUERIES = ROOT / "python-rag" / "eval" / "queries.jsonl"
MODES = {"vector": pb.RETRIEVAL_MODE_VECTOR, "full_text": pb.RETRIEVAL_MODE_FULL_TEXT,
         "hybrid": pb.RETRIEVAL_MODE_HYBRID}
TOP_K = 10
CHUNKS_PER_DOCUMENT = 100  # of the bulk-loaded collection
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_PLAIN = re.compile(r"[A-Za-z0-9 ,.;:'\"()\-!?]+")


def say(message: str) -> None:
    print(f">> {message}", file=sys.stderr, flush=True)


# --- text ---------------------------------------------------------------------------------
def source_texts() -> list[list[str]]:
    """Sentences grouped by source, in reading order: the English documents of the eval
    corpus and the docstrings of this Python's standard library (thousands of distinct,
    real technical sentences, the same on every machine with the same Python)."""
    sources = []
    for path in sorted(CORPUS.iterdir()):
        text = re.sub(r"<[^>]+>|^#+ ", " ", path.read_text(), flags=re.M)
        sources.append(_sentences(text))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if any(part in str(path) for part in ("test", "idlelib", "site-packages")):
            continue
        try:
            tree = ast.parse(path.read_text(errors="replace"))
        except SyntaxError:
            continue
        docs = [ast.get_docstring(n) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        sources.append([s for d in docs if d for s in _sentences(d)])
    return [s for s in sources if len(s) >= 3]


def _sentences(text: str) -> list[str]:
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
            if 6 <= len(sentence.split()) <= 40 and sentence[-1] in ".!?" and _PLAIN.fullmatch(sentence):
                found.append(sentence)
    return found


def chunk_sentences(sources: list[list[str]], count: int, rng: random.Random) -> list[list[str]]:
    """count distinct chunks, each a run of 2-6 consecutive sentences of one source (a
    passage on one subject) plus 1-2 sentences from anywhere (so no two chunks repeat)."""
    every = [s for source in sources for s in source]
    chunks, seen = [], set()
    while len(chunks) < count:
        source = rng.choice(sources)
        run = rng.randint(2, min(6, len(source)))
        start = rng.randrange(len(source) - run + 1)
        picked = source[start:start + run] + rng.sample(every, rng.randint(1, 2))
        key = tuple(picked)
        if key not in seen:
            seen.add(key)
            chunks.append(picked)
    return chunks


def ingest_documents(sources: list[list[str]], target_chunks: int, rng: random.Random) -> tuple[list, int]:
    """Markdown documents of real sentences, added until the service's own chunker (same
    settings) makes target_chunks chunks of them."""
    settings = RagSettings()
    tokens = TokenCounter(settings.tokenizer_path)
    limits = ChunkingLimits(settings.chunk_tokens, settings.chunk_overlap_tokens, settings.max_document_bytes,
                            settings.max_documents_per_ingest)
    documents, chunks = [], 0
    while chunks < target_chunks:
        source = rng.choice(sources)
        sections = []
        for number in range(rng.randint(2, 5)):
            paragraphs = [" ".join(rng.sample(source, min(len(source), rng.randint(3, 8))))
                          for _ in range(rng.randint(1, 3))]
            sections.append(f"## Section {number + 1}\n\n" + "\n\n".join(paragraphs))
        doc = DocumentInput(f"doc-{len(documents)}", ("# Notes\n\n" + "\n\n".join(sections)).encode(),
                            "text/markdown", {})
        chunks += len(prepare([doc], tokens, limits)[0].chunks)
        documents.append(doc)
    return documents, chunks


def queries(sources: list[list[str]], count: int, rng: random.Random) -> list[str]:
    """The eval set's English questions, then the first words of random sentences."""
    asked = [q["query"] for q in map(json.loads, QUERIES.read_text().splitlines())
             if q["query"].isascii()]
    every = [s for source in sources for s in source]
    while len(asked) < count:
        asked.append(" ".join(rng.choice(every).rstrip(".!?").split()[:rng.randint(4, 9)]))
    return asked[:count]


# --- services -----------------------------------------------------------------------------
def new_stack(log_name: str) -> localstack.Stack:
    return localstack.Stack(log_dir=ROOT / "build" / "logs" / log_name, inference_port=localstack.free_port(),
                            inference_metrics_port=0, rag_port=localstack.free_port(), rag_metrics_port=0,
                            postgres_port=localstack.free_port())


def start_stack(stack: localstack.Stack, inference_target: str) -> None:
    """PostgreSQL, the inference service (or the running one at inference_target) and the RAG
    service, each its own process; returns when all answer."""
    inference = None if inference_target else stack.start_inference()
    stack.wait_postgres(stack.start_postgres())
    if inference_target:
        stack.inference_port = int(inference_target.rsplit(":", 1)[1])
    else:
        stack.wait_inference(inference)
    stack.wait_rag(stack.start_rag())


async def embed(stub, texts: list[str]) -> np.ndarray:
    """The real model through the inference service, 256 texts per call (its limit)."""
    out = []
    for start in range(0, len(texts), 256):
        response = await stub.Embed(inference_pb2.EmbedRequest(model=MODEL, texts=texts[start:start + 256]))
        out += [e.values for e in response.embeddings]
    return np.asarray(out, dtype=np.float32)


@dataclass
class Ingestion:
    documents: int
    chunks: int
    seconds: float

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds


async def bench_ingestion(rag, documents: list[DocumentInput]) -> Ingestion:
    await rag.CreateCollection(pb.CreateCollectionRequest(tenant_id=TENANT, collection_id="ingest"))
    request = pb.IngestDocumentsRequest(tenant_id=TENANT, collection_id="ingest", documents=[
        pb.Document(document_id=d.document_id, content=d.content, content_type=d.content_type) for d in documents])
    started = time.perf_counter()
    job = (await rag.IngestDocuments(request)).job
    async for update in rag.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=TENANT, job_id=job.job_id)):
        job = update.job
    seconds = time.perf_counter() - started
    if job.state != pb.INGEST_JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"ingest job ended {pb.IngestJobState.Name(job.state)}: {job.error}")
    return Ingestion(job.documents_done, job.chunks_done, seconds)


async def bulk_load(db: Database, name: str, chunks: list[list[str]], vectors: np.ndarray) -> tuple[float, float]:
    """COPY through the service's own storage code, 100 chunks per document, with the HNSW
    index dropped meanwhile and then built again from its own definition (as one would for
    a bulk load: one build is several times faster than 100,000 inserts into the graph).
    Returns the seconds of the load and of the index build."""
    tokens = TokenCounter(RagSettings().tokenizer_path)
    collection = await CollectionStore(db).get(TENANT, name)
    async with db.pool.connection() as conn:
        cur = await conn.execute("SELECT pg_get_indexdef('chunks_embedding_384_hnsw'::regclass)")
        [definition] = await cur.fetchone()
        await conn.execute("DROP INDEX chunks_embedding_384_hnsw")
    started = time.perf_counter()
    for first in range(0, len(chunks), 50 * CHUNKS_PER_DOCUMENT):
        async with db.pool.connection() as conn, conn.transaction():
            for doc_start in range(first, min(first + 50 * CHUNKS_PER_DOCUMENT, len(chunks)), CHUNKS_PER_DOCUMENT):
                stored = []
                for i, sentences in enumerate(chunks[doc_start:doc_start + CHUNKS_PER_DOCUMENT]):
                    text = " ".join(sentences)
                    stored.append(document_store.StoredChunk(i, (), text, tokens.count(text),
                                                             vectors[doc_start + i], "", ""))
                document = document_store.DocumentVersion(f"doc-{doc_start // CHUNKS_PER_DOCUMENT}", "text/plain",
                                                          str(doc_start), {})
                await document_store.replace(conn, collection, document, stored)
        say(f"   loaded {min(first + 50 * CHUNKS_PER_DOCUMENT, len(chunks)):,} chunks")
    load_seconds = time.perf_counter() - started
    async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE chunks")
        started = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute(definition)
        return load_seconds, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_search(rag, collection: str, asked: list[str]) -> dict[str, list[float]]:
    latencies = {}
    for mode, value in MODES.items():
        for query in asked[:10]:  # warm-up: connections, caches, the index's upper layers
            await rag.Search(pb.SearchRequest(tenant_id=TENANT, collection_id=collection, query=query,
                                              options=pb.RetrievalOptions(mode=value, top_k=TOP_K)))
        seconds = []
        for query in asked:
            started = time.perf_counter()
            await rag.Search(pb.SearchRequest(tenant_id=TENANT, collection_id=collection, query=query,
                                              options=pb.RetrievalOptions(mode=value, top_k=TOP_K)))
            seconds.append(time.perf_counter() - started)
        latencies[mode] = seconds
        say(f"   {mode:<9} p50 {1000 * percentile(seconds, 0.5):6.1f} ms  p99 {1000 * percentile(seconds, 0.99):6.1f} ms")
    return latencies


@dataclass
class Recall:
    ef_search: int
    recall: float
    ms_p50: float


async def bench_recall(db: Database, name: str, query_vectors: np.ndarray, ef_values: list[int],
                       ) -> tuple[list[Recall], float]:
    """Recall@10 of candidates.nearest (the service's query) vs the same query run exactly."""
    collection = await CollectionStore(db).get(TENANT, name)
    async with db.pool.connection() as conn:
        plans = {}
        for exact in (False, True):
            async with conn.transaction():
                if exact:
                    await _exact_scan(conn)
                cur = await conn.execute(sql.SQL("EXPLAIN ") + candidates.nearest_sql(collection.dimension),
                                         {"q": query_vectors[0], "c": collection.id, "f": Jsonb({}), "n": TOP_K})
                plans[exact] = "\n".join(row[0] for row in await cur.fetchall())
        if "chunks_embedding_384_hnsw" not in plans[False] or "Seq Scan" not in plans[True]:
            raise RuntimeError(f"unexpected plans:\n{plans[False]}\n---\n{plans[True]}")

        # ef_search is moot there: no index is read.
        truth, exact_seconds = await _exact_neighbours(db.url, collection, query_vectors, ef_values[0])
        results = []
        for ef in ef_values:
            hits, seconds = 0, []
            for vector, expected in zip(query_vectors, truth, strict=True):
                started = time.perf_counter()
                found = await candidates.nearest(conn, collection, vector, TOP_K, {}, ef_search=ef)
                seconds.append(time.perf_counter() - started)
                hits += len(expected & {c.chunk_pk for c in found})
            results.append(Recall(ef, hits / (TOP_K * len(truth)), 1000 * statistics.median(seconds)))
            say(f"   ef_search {ef:<4} recall@10 {results[-1].recall:.4f}  p50 {results[-1].ms_p50:.1f} ms")
    return results, 1000 * statistics.median(exact_seconds)


async def _exact_neighbours(url: str, collection, query_vectors: np.ndarray,
                            ef_search: int) -> tuple[list[set[int]], list[float]]:
    """Exact top-10 by the same SQL on a connection of its own that never prepares it:
    PostgreSQL keeps a prepared statement's generic plan even when enable_indexscan changes
    back, so sharing one would turn the HNSW measurement into sequential scans too."""
    truth, seconds = [], []
    async with await psycopg.AsyncConnection.connect(url, prepare_threshold=None) as conn:
        await register_vector_async(conn)
        for vector in query_vectors:
            started = time.perf_counter()
            async with conn.transaction():
                await _exact_scan(conn)
                found = await candidates.nearest(conn, collection, vector, TOP_K, {}, ef_search)
            seconds.append(time.perf_counter() - started)
            truth.append({c.chunk_pk for c in found})
    return truth, seconds


async def _exact_scan(conn) -> None:
    await conn.execute("SET LOCAL enable_indexscan = off")
    await conn.execute("SET LOCAL enable_bitmapscan = off")


# --- report -------------------------------------------------------------------------------
def report(command: str, ingestion: Ingestion, loaded: int, load_seconds: float, index_seconds: float, sentence_count: int,
           latencies: dict[str, list[float]], recalls: list[Recall], exact_ms: float, default_ef: int) -> str:
    ms = lambda values, q: f"{1000 * percentile(values, q):.1f}"  # noqa: E731
    lines = [
        "## RAG service: ingestion, search latency, HNSW recall",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores; inference service, "
        f"PostgreSQL 18 + pgvector 0.8 and the RAG service as separate processes on the same machine; "
        f"embedding model {MODEL} on CPU, float32). Quicker: `make bench-rag ARGS='--chunks 20000'`.",
        "",
        "**(a) Ingestion, end to end** — one `IngestDocuments` call of "
        f"{ingestion.documents} Markdown documents (real English sentences), timed until `WatchIngestJob` "
        "reports `SUCCEEDED`: parsing, chunking (200 tokens), embedding every chunk with the real model "
        f"(batches of {RagSettings().embed_batch_size}) and the one-transaction COPY.",
        "",
        "| documents | chunks | seconds | chunks/s |",
        "|---:|---:|---:|---:|",
        f"| {ingestion.documents} | {ingestion.chunks} | {ingestion.seconds:.1f} | {ingestion.chunks_per_second:.1f} |",
        "",
        f"**(b) Search latency at {loaded:,} chunks** — `Search` RPC, top_k {TOP_K}, {len(latencies['vector'])} "
        "queries per mode one at a time after 10 warm-up queries; each query is embedded by the real model "
        "inside the call (vector, hybrid), so the figures include the Embed RPC.",
        "",
        "| mode | p50 (ms) | p99 (ms) | mean (ms) |",
        "|---|---:|---:|---:|",
        *[f"| {mode} | {ms(v, 0.5)} | {ms(v, 0.99)} | {1000 * statistics.mean(v):.1f} |"
          for mode, v in latencies.items()],
        "",
        f"**(c) HNSW recall@10 at {loaded:,} chunks** against exact search (the service's own vector SQL in a "
        "transaction with `enable_indexscan` and `enable_bitmapscan` off: a sequential scan, "
        f"{exact_ms:.0f} ms per query), the same {len(latencies['vector'])} real query embeddings; index "
        "`hnsw (m 16, ef_construction 64)`, `hnsw.iterative_scan = relaxed_order` as the service runs it. "
        "The plans were checked: an `Index Scan using chunks_embedding_384_hnsw` for the service's query, a "
        "`Seq Scan` for the exact one. Latency here is the SQL alone.",
        "",
        "| hnsw.ef_search | recall@10 | SQL p50 (ms) |",
        "|---:|---:|---:|",
        *[f"| {r.ef_search}{' (default)' if r.ef_search == default_ef else ''} | {r.recall:.4f} | {r.ms_p50:.1f} |"
          for r in recalls],
        "",
        f"**How the {loaded:,}-chunk collection was built.** Embedding it with the model would take about half "
        "an hour here, so it was bulk-loaded (binary COPY through the service's storage code, "
        f"{load_seconds:.0f} s, then the HNSW index built in {index_seconds:.0f} s) from {sentence_count:,} distinct real "
        "English sentences: the eval corpus's English documents and the docstrings of Python "
        f"{sys.version.split()[0]}'s standard library. Each chunk is a run of 2–6 consecutive sentences of one "
        "source plus 1–2 sentences from anywhere (no two chunks alike). Each sentence was embedded once with "
        f"the real model through the Embed RPC; **a chunk's vector is the L2-normalised mean of its sentences' "
        "embeddings, not the model's embedding of the chunk's text** — vectors of the model's space that follow "
        "the text's topics, but not exactly what ingestion would store. Queries (the eval set's English "
        "questions, then the first 4–9 words of random sentences) are embedded by the real model.",
    ]
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks of the search/recall collection")
    parser.add_argument("--ingest-chunks", type=int, default=2000, help="chunks ingested through the service")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--ef-search", default="40,100,200", help="ef_search values for the recall table")
    parser.add_argument("--inference-target", default="", help="use a running inference service")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    rng = random.Random(20261123)
    default_ef = RagSettings().hnsw_ef_search
    ef_values = sorted({default_ef, *map(int, args.ef_search.split(","))})

    sources = source_texts()
    sentences = sorted({s for source in sources for s in source})
    documents, _ = ingest_documents(sources, args.ingest_chunks, rng)
    chunk_texts = chunk_sentences(sources, args.chunks, rng)
    asked = queries(sources, args.queries, rng)

    stack = new_stack("bench-rag")
    try:
        start_stack(stack, args.inference_target)
        async with grpc.aio.insecure_channel(stack.rag_target) as rag_channel, \
                grpc.aio.insecure_channel(stack.inference_target) as inference_channel:
            rag = pb_grpc.RagServiceStub(rag_channel)
            embedder = inference_pb2_grpc.InferenceServiceStub(inference_channel)
            say(f"(a) ingesting {len(documents)} documents")
            ingestion = await bench_ingestion(rag, documents)
            say(f"   {ingestion.chunks} chunks in {ingestion.seconds:.1f} s = {ingestion.chunks_per_second:.1f} chunks/s")

            say(f"embedding {len(sentences):,} sentences with the real model")
            index = {s: i for i, s in enumerate(sentences)}
            started = time.perf_counter()
            sentence_vectors = await embed(embedder, sentences)
            say(f"   {time.perf_counter() - started:.0f} s")
            vectors = np.stack([sentence_vectors[[index[s] for s in chunk]].mean(axis=0) for chunk in chunk_texts])
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            # Only the bulk collection stays: the index then holds exactly --chunks vectors.
            await rag.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=TENANT, collection_id="ingest"))
            name = f"bulk-{args.chunks}"
            await rag.CreateCollection(pb.CreateCollectionRequest(tenant_id=TENANT, collection_id=name))
            db = await Database.open(f"postgresql://postgres@127.0.0.1:{stack.postgres_port}/tianshu_rag")
            try:
                say(f"(b) bulk-loading {args.chunks:,} chunks")
                load_seconds, index_seconds = await bulk_load(db, name, chunk_texts, vectors)
                say(f"   loaded in {load_seconds:.0f} s, index built in {index_seconds:.0f} s; searching")
                latencies = await bench_search(rag, name, asked)
                say("(c) recall against exact search")
                recalls, exact_ms = await bench_recall(db, name, await embed(embedder, asked), ef_values)
            finally:
                await db.close()
    finally:
        stack.stop_all()

    command = "make bench-rag" + (f" ARGS='{' '.join(sys.argv[1:])}'" if sys.argv[1:] else "")
    body = report(command, ingestion, args.chunks, load_seconds, index_seconds, len(sentences), latencies, recalls, exact_ms, default_ef)
    print(body)
    if not args.no_write:
        write_section(ROOT / "docs" / "benchmarks.md", "rag-bench", body)


if __name__ == "__main__":
    if sys.argv[1:3] == ["--scenario", "ingest-under-load"]:
        import rag_ingest_load_bench

        rag_ingest_load_bench.main(sys.argv[3:])
    elif sys.argv[1:3] == ["--scenario", "full-text"]:
        import rag_full_text_bench

        rag_full_text_bench.main(sys.argv[3:])
    elif "--scenario" in sys.argv[1:2] and sys.argv[2:3] != ["search"]:
        sys.exit("--scenario is 'search' (the default: ingestion, search latency, recall), 'ingest-under-load' "
                 "or 'full-text'")
    else:
        if sys.argv[1:2] == ["--scenario"]:
            del sys.argv[1:3]
        asyncio.run(main())

"""Full-text (BM25) search latency at 100,000 chunks of natural Q&A text, four callers at once.

The RAG service and PostgreSQL 18 run as their own processes (scripts/localstack.py); the
inference service only answers CreateCollection (a FULL_TEXT search embeds nothing).
  corpus  - InsuranceQA (the insuranceqa-data package): its 27,413 answers in English and
            in Chinese, each cut into passages of up to three sentences, English and Chinese
            passages of an answer in turn, until --chunks passages;
  load    - bulk COPY through the service's own storage code (documents.replace, so the BM25
            triggers maintain the statistics exactly as ingestion does), 100 passages per
            document, 50 documents per transaction; vectors are random (vector search is
            not measured here, `make bench-rag` measures it);
  search  - InsuranceQA's test and validation questions, English and Chinese in turn;
            --callers callers at once, each sending its share of --queries FULL_TEXT Search
            RPCs (top_k 10) back to back after a warm-up; latency per call.

Run: make bench-rag ARGS='--scenario full-text'   (about 10 minutes on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

import grpc
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from docs_section import write_section  # noqa: E402
from rag_bench import new_stack, say, start_stack  # noqa: E402
from tianshu.rag.v1 import rag_pb2 as pb  # noqa: E402
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc  # noqa: E402

from tianshu_rag.ingestion.tokens import TokenCounter  # noqa: E402
from tianshu_rag.retrieval.terms import index_terms  # noqa: E402
from tianshu_rag.settings import RagSettings  # noqa: E402
from tianshu_rag.storage import documents as document_store  # noqa: E402
from tianshu_rag.storage.collections import CollectionStore  # noqa: E402
from tianshu_rag.storage.database import Database  # noqa: E402

TENANT, COLLECTION = "bench", "insuranceqa"
SECTION = "rag-full-text"
PER_DOCUMENT = 100
_SENTENCE = {"en": re.compile(r"(?<=[.!?])\s+"), "zh": re.compile(r"(?<=[。！？；])")}


def _data(name: str) -> dict:
    with gzip.open(resources.files("insuranceqa_data").joinpath(name).open("rb")) as raw:
        return json.loads(raw.read())


def passages(count: int) -> list[tuple[str, str]]:
    """(language, text) passages of up to three sentences of the answers, in answer-id order."""
    answers = _data("answers.json.gz")
    found: list[tuple[str, str]] = []
    for answer_id in sorted(answers, key=int):
        for language in ("en", "zh"):
            sentences = [s.strip() for s in _SENTENCE[language].split(answers[answer_id][language]) if s.strip()]
            found += [(language, " ".join(sentences[i:i + 3])) for i in range(0, len(sentences), 3)]
        if len(found) >= count:
            return found[:count]
    raise SystemExit(f"InsuranceQA makes only {len(found):,} passages; ask for fewer --chunks")


def questions(count: int) -> list[tuple[str, str]]:
    """(language, question), English and Chinese in turn, test questions first."""
    asked = []
    for split in ("test.json.gz", "valid.json.gz"):
        data = _data(split)
        for key in sorted(data, key=int):
            asked += [("en", " ".join(data[key]["en"].split())), ("zh", data[key]["zh"].strip())]
    return asked[:count]


async def bulk_load(db: Database, texts: list[tuple[str, str]], rng: np.random.Generator) -> float:
    tokens = TokenCounter(RagSettings().tokenizer_path)
    collection = await CollectionStore(db).get(TENANT, COLLECTION)
    started = time.perf_counter()
    for first in range(0, len(texts), 50 * PER_DOCUMENT):
        async with db.pool.connection() as conn, conn.transaction():
            for doc_start in range(first, min(first + 50 * PER_DOCUMENT, len(texts)), PER_DOCUMENT):
                part = texts[doc_start:doc_start + PER_DOCUMENT]
                vectors = rng.standard_normal((len(part), collection.dimension)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                stored = [document_store.StoredChunk(i, (), text, tokens.count(text), vectors[i], "", index_terms(text))
                          for i, (_, text) in enumerate(part)]
                await document_store.replace(conn, collection, document_store.DocumentVersion(
                    f"doc-{doc_start // PER_DOCUMENT}", "text/plain", str(doc_start), {}), stored)
        say(f"   loaded {min(first + 50 * PER_DOCUMENT, len(texts)):,} chunks")
    return time.perf_counter() - started


async def search_load(rag, asked: list[tuple[str, str]], callers: int) -> list[tuple[str, float, int]]:
    """(language, seconds, hits) per call, callers at once, each taking every callers-th query."""
    async def one(query: str) -> tuple[float, int]:
        started = time.perf_counter()
        response = await rag.Search(pb.SearchRequest(tenant_id=TENANT, collection_id=COLLECTION, query=query,
                                                      options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_FULL_TEXT,
                                                                                  top_k=10)))
        return time.perf_counter() - started, len(response.hits)

    async def caller(mine: list[tuple[str, str]]) -> list[tuple[str, float, int]]:
        return [(language, *(await one(query))) for language, query in mine]

    results = await asyncio.gather(*(caller(asked[i::callers]) for i in range(callers)))
    return [r for part in results for r in part]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(command: str, chunks: int, load_seconds: float, sizes: dict[str, str], calls: list, callers: int,
           wall: float) -> str:
    def row(name: str, picked: list) -> str:
        seconds = [s for _, s, _ in picked]
        return (f"| {name} | {len(seconds)} | {1000 * percentile(seconds, 0.5):.1f} | "
                f"{1000 * percentile(seconds, 0.99):.1f} | {1000 * statistics.mean(seconds):.1f} |")
    return "\n".join([
        "## RAG full-text search (BM25) at scale, several callers",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, 2 CPU cores shared with other work; PostgreSQL 18 "
        "and the RAG service as separate processes on the same machine).",
        "",
        f"**Corpus**: {chunks:,} chunks of natural text, passages of up to three sentences of the InsuranceQA "
        "answers (insuranceqa-data), English and Chinese in turn, bulk-loaded through the service's storage "
        f"code in {load_seconds:.0f} s (the BM25 triggers included). Index sizes: "
        + ", ".join(f"{name} {size}" for name, size in sizes.items()) + ".",
        "",
        f"**Search**: InsuranceQA's test and validation questions (English and Chinese in turn), {callers} callers "
        f"at once, each sending FULL_TEXT `Search` RPCs (top_k 10) back to back; {len(calls)} calls in "
        f"{wall:.1f} s ({len(calls) / wall:.0f} searches/s).",
        "",
        "| queries | calls | p50 (ms) | p99 (ms) | mean (ms) |",
        "|---|---:|---:|---:|---:|",
        row("all", calls),
        row("English", [c for c in calls if c[0] == "en"]),
        row("Chinese", [c for c in calls if c[0] == "zh"]),
        "",
    ])


async def run(args: argparse.Namespace) -> str:
    texts = passages(args.chunks)
    asked = questions(args.queries + 20)
    stack = new_stack("bench-rag-full-text")
    try:
        start_stack(stack, args.inference_target)
        async with grpc.aio.insecure_channel(stack.rag_target) as channel:
            rag = pb_grpc.RagServiceStub(channel)
            await rag.CreateCollection(pb.CreateCollectionRequest(tenant_id=TENANT, collection_id=COLLECTION))
            db = await Database.open(f"postgresql://postgres@127.0.0.1:{stack.postgres_port}/tianshu_rag")
            try:
                say(f"bulk-loading {len(texts):,} chunks")
                load_seconds = await bulk_load(db, texts, np.random.default_rng(36))
                async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as conn:
                    await conn.execute("VACUUM ANALYZE bm25_postings")
                    await conn.execute("VACUUM ANALYZE bm25_terms")
                    await conn.execute("VACUUM ANALYZE chunks")
                    cur = await conn.execute(
                        "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class"
                        " WHERE relname IN ('bm25_postings', 'bm25_terms', 'chunks') ORDER BY relname")
                    sizes = dict(await cur.fetchall())
            finally:
                await db.close()
            say(f"   {load_seconds:.0f} s; warming up")
            await search_load(rag, asked[:20], args.callers)
            say(f"searching: {args.queries} queries, {args.callers} callers")
            started = time.perf_counter()
            calls = await search_load(rag, asked[20:], args.callers)
            wall = time.perf_counter() - started
    finally:
        stack.stop_all()
    command = "make bench-rag ARGS='--scenario full-text" + (f" {' '.join(args.extra)}'" if args.extra else "'")
    return report(command, len(texts), load_seconds, sizes, calls, args.callers, wall)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=800)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--inference-target", default="", help="use a running inference service")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)
    args.extra = argv
    body = asyncio.run(run(args))
    print(body)
    if not args.no_write:
        write_section(ROOT / "docs" / "benchmarks.md", SECTION, body)

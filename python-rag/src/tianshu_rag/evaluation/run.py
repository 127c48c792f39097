"""Ingests an evaluation set into a collection and evaluates every retrieval mode of the
service (through its gRPC API, with each call's latency) beside the plain baselines computed
in the same run on the same chunks (baselines.py), at the document level.

It also fuses the service's own vector and full-text rankings offline with weighted RRF
over a grid of weights (exactly the candidate pools hybrid search fuses: CHUNK_HITS x
CANDIDATES_PER_HIT of each), which is how the default fusion weights were chosen."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
import numpy as np
from tianshu.inference.v1 import inference_pb2, inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from ..retrieval.fusion import reciprocal_rank_fusion, score_fusion
from . import baselines
from .datasets import EvalSet
from .metrics import summarize

MODES = {"vector": pb.RETRIEVAL_MODE_VECTOR, "full_text": pb.RETRIEVAL_MODE_FULL_TEXT,
         "hybrid": pb.RETRIEVAL_MODE_HYBRID, "hybrid+rerank": pb.RETRIEVAL_MODE_HYBRID}
# The modes that run the reranking stage (with the service's default candidates, and the model
# evaluate() is given: "" is the collection's embedding model).
RERANKED = frozenset({"hybrid+rerank"})
# Chunks asked for: enough to fill 10 distinct documents in a small corpus. With the
# service's CANDIDATES_PER_HIT of 4, hybrid fuses the top 100 of each retriever, which is
# also the most one Search returns (MAX_TOP_K), so the offline fusion below sees the same.
CHUNK_HITS = 25
CANDIDATES_PER_HIT = 4
# Full-text weights tried with the vector weight at 1 (and full text alone, vector at 0).
FULL_TEXT_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
RRF_K = 60
# The fusion functions compared offline, over the same two lists of (chunk id, score).
FUSIONS = {
    "rrf": lambda lists, weights: reciprocal_rank_fusion(
        {name: [key for key, _ in pairs] for name, pairs in lists.items()}, k=RRF_K, weights=weights),
    "score": score_fusion,
}


@dataclass
class Row:
    metrics: dict[str, float]
    seconds: list[float]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class SetResult:
    name: str
    documents: int
    chunks: int
    queries: int
    # The collection's embedding model (chosen by the service for the set's language).
    embedding_model: str = ""
    # service modes first, then baselines
    rows: dict[str, Row] = field(default_factory=dict)
    # (fusion function, vector weight, full-text weight) -> metrics of the offline fusion
    fusion: dict[tuple[str, float, float], dict[str, float]] = field(default_factory=dict)


async def ingest(stub: pb_grpc.RagServiceStub, tenant: str, collection: str, documents: Sequence[pb.Document],
                 batch: int = 500) -> None:
    """Creates the collection when missing and ingests the documents (batch per job)."""
    try:
        await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id=collection,
                                                               description="evaluation set"))
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    for start in range(0, len(documents), batch):
        started = await stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant, collection_id=collection, documents=documents[start:start + batch]))
        job = started.job
        async for update in stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant, job_id=job.job_id)):
            job = update.job
        if job.state != pb.INGEST_JOB_STATE_SUCCEEDED:
            raise RuntimeError(f"ingest failed: {job.error}")


async def _search(stub, tenant: str, collection: str, query: str, mode: int, top_k: int,
                  rerank: pb.RerankSettings | None = None) -> tuple[list[tuple[str, float]], float]:
    """(chunk id, score) of each hit, and the call's seconds. Without `rerank` the stage is
    off whatever the collection says, so the plain modes measure the retrievers alone."""
    started = time.perf_counter()
    response = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=collection, query=query,
                                                  options=pb.RetrievalOptions(
                                                      mode=mode, top_k=top_k,
                                                      rerank=rerank or pb.RerankSettings(enabled=False))))
    return [(hit.chunk_id, hit.score) for hit in response.hits], time.perf_counter() - started


def _documents(chunk_ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(chunk_id.rsplit("#", 1)[0] for chunk_id in chunk_ids))


async def evaluate(stub: pb_grpc.RagServiceStub, embedder: inference_pb2_grpc.InferenceServiceStub,
                   database_url: str, tenant: str, collection: str, eval_set: EvalSet,
                   rerank_model: str = "") -> SetResult:
    listed = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    stored = next(c for c in listed if c.collection_id == collection)
    result = SetResult(eval_set.name, stored.document_count, stored.chunk_count, len(eval_set.queries),
                       stored.embedding_model)
    relevant = [set(q["relevant"]) for q in eval_set.queries]
    asked = [q["query"] for q in eval_set.queries]
    pools: dict[str, list[list[tuple[str, float]]]] = {"vector": [], "full_text": []}
    for name, mode in MODES.items():
        ranked, seconds = [], []
        rerank = pb.RerankSettings(enabled=True, model=rerank_model) if name in RERANKED else None
        for query in asked:
            hits, took = await _search(stub, tenant, collection, query, mode, CHUNK_HITS, rerank)
            ranked.append(_documents([chunk_id for chunk_id, _ in hits]))
            seconds.append(took)
        result.rows[name] = Row(summarize(list(zip(ranked, relevant))), seconds)
    for name in pools:
        for query in asked:
            pools[name].append((await _search(stub, tenant, collection, query, MODES[name],
                                              CHUNK_HITS * CANDIDATES_PER_HIT))[0])
    for method, fuse in FUSIONS.items():
        for weights in [(0.0, 1.0)] + [(1.0, w) for w in FULL_TEXT_WEIGHTS]:
            named = {"vector": weights[0], "full_text": weights[1]}
            fused = [_documents([f.key for f in fuse({"vector": v, "full_text": t}, named)][:CHUNK_HITS])
                     for v, t in zip(pools["vector"], pools["full_text"])]
            result.fusion[(method, *weights)] = summarize(list(zip(fused, relevant)))

    vectors = []
    for start in range(0, len(asked), 256):
        response = await embedder.Embed(inference_pb2.EmbedRequest(model=stored.embedding_model,
                                                                   texts=asked[start:start + 256]))
        vectors += [e.values for e in response.embeddings]
    plain = await asyncio.to_thread(baselines.compute, database_url, tenant, collection, asked,
                                    np.asarray(vectors, dtype=np.float32), CHUNK_HITS)
    for name, lists in plain.rankings.items():
        result.rows[name] = Row(summarize([(list(dict.fromkeys(ids)), rel) for ids, rel in zip(lists, relevant)]),
                                plain.seconds[name])
    return result


COLUMNS = ("mrr@10", "recall@10", "ndcg@10")


def format_table(result: SetResult) -> str:
    lines = [f"{result.name}: {result.documents} documents, {result.chunks} chunks, {result.queries} queries, "
             f"embedding model {result.embedding_model}",
             f"{'mode':<14}" + "".join(f"{c:>11}" for c in COLUMNS) + f"{'p50 ms':>10}{'p99 ms':>10}"]
    for name, row in result.rows.items():
        lines.append(f"{name:<14}" + "".join(f"{row.metrics[c]:>11.3f}" for c in COLUMNS)
                     + f"{1000 * row.percentile(0.5):>10.1f}{1000 * row.percentile(0.99):>10.1f}")
    lines.append("fusion of the service's own lists (function, vector weight, full-text weight):")
    for (method, vector, full_text), metrics in result.fusion.items():
        lines.append(f"  {method:<6}{vector:>4g} {full_text:>4g}" + "".join(f"{metrics[c]:>11.3f}" for c in COLUMNS))
    return "\n".join(lines)


def as_markdown(result: SetResult) -> str:
    """The table as Markdown, for docs/benchmarks.md."""
    lines = [f"**{result.name}** ({result.documents:,} documents, {result.chunks:,} chunks, {result.queries} queries, "
             f"{result.embedding_model})",
             "", "| mode | MRR@10 | recall@10 | nDCG@10 | p50 (ms) | p99 (ms) |", "|---|---:|---:|---:|---:|---:|"]
    for name, row in result.rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row.metrics[c]:.3f}" for c in COLUMNS)
                     + f" | {1000 * row.percentile(0.5):.1f} | {1000 * row.percentile(0.99):.1f} |")
    lines += ["", "Offline fusion of the service's own vector and full-text lists (MRR@10 / nDCG@10):", "",
              "| full-text weight (vector 1) | " + " | ".join(FUSIONS) + " |", "|---|" + "---:|" * len(FUSIONS)]
    for weights in sorted({(v, t) for _, v, t in result.fusion}, key=lambda w: (w[0] > 0, w[1])):
        label = "full text alone" if weights[0] == 0 else f"{weights[1]:g}"
        cells = [result.fusion[(f, *weights)] for f in FUSIONS]
        lines.append(f"| {label} | " + " | ".join(f"{m['mrr@10']:.3f} / {m['ndcg@10']:.3f}" for m in cells) + " |")
    return "\n".join(lines)


def as_json(result: SetResult) -> dict:
    return {"set": result.name, "documents": result.documents, "chunks": result.chunks, "queries": result.queries,
            "embedding_model": result.embedding_model,
            "modes": {name: {**row.metrics, "p50_ms": 1000 * row.percentile(0.5),
                             "p99_ms": 1000 * row.percentile(0.99)} for name, row in result.rows.items()},
            "fusion": [{"function": f, "vector_weight": v, "full_text_weight": t, **m}
                       for (f, v, t), m in result.fusion.items()]}

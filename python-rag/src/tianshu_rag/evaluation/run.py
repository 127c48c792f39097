"""Ingests a corpus folder into a collection and evaluates every retrieval mode on a JSONL
query set ({"query": ..., "relevant": [document ids]}), all through the service's gRPC API."""
from __future__ import annotations

import json
from pathlib import Path

import grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from .metrics import summarize

CONTENT_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain",
                 ".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf"}
MODES = {"vector": pb.RETRIEVAL_MODE_VECTOR, "full_text": pb.RETRIEVAL_MODE_FULL_TEXT,
         "hybrid": pb.RETRIEVAL_MODE_HYBRID}
# Hits are chunks; enough of them to fill 10 distinct documents in a small corpus.
CHUNK_HITS = 30


def corpus_documents(folder: Path) -> list[pb.Document]:
    """Every supported file of the folder; its name without extension is the document id."""
    documents = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in CONTENT_TYPES:
            document = pb.Document(document_id=path.stem, content=path.read_bytes(),
                                   content_type=CONTENT_TYPES[path.suffix.lower()])
            document.metadata.update({"file": path.name})
            documents.append(document)
    return documents


def load_queries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def ingest_corpus(stub: pb_grpc.RagServiceStub, tenant: str, collection: str, folder: Path) -> pb.IngestJob:
    """Creates the collection when missing, ingests the folder, waits for the job."""
    try:
        await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id=collection,
                                                               description=f"evaluation corpus {folder.name}"))
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    started = await stub.IngestDocuments(pb.IngestDocumentsRequest(
        tenant_id=tenant, collection_id=collection, documents=corpus_documents(folder)))
    job = started.job
    async for update in stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant, job_id=job.job_id)):
        job = update.job
    if job.state != pb.INGEST_JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"ingest failed: {job.error}")
    return job


async def ranked_documents(stub: pb_grpc.RagServiceStub, tenant: str, collection: str, query: str,
                           mode: int) -> list[str]:
    response = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=collection, query=query,
                                                  options=pb.RetrievalOptions(mode=mode, top_k=CHUNK_HITS)))
    return list(dict.fromkeys(hit.document_id for hit in response.hits))


async def evaluate(stub: pb_grpc.RagServiceStub, tenant: str, collection: str,
                   queries: list[dict]) -> dict[str, dict[str, float]]:
    results = {}
    for name, mode in MODES.items():
        runs = [(await ranked_documents(stub, tenant, collection, q["query"], mode), set(q["relevant"]))
                for q in queries]
        results[name] = summarize(runs)
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    columns = ["recall@5", "recall@10", "mrr@10", "ndcg@10"]
    lines = [f"{'mode':<10}" + "".join(f"{c:>11}" for c in columns)]
    for mode, values in results.items():
        lines.append(f"{mode:<10}" + "".join(f"{values[c]:>11.3f}" for c in columns))
    return "\n".join(lines)

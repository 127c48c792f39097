"""A search is not held up by another tenant's ingestion, against the real embedding model: its
query's embedding goes to the inference service's interactive lane, not behind the chunks the
ingest job has in flight. The inference service runs in this process (conftest), so its own
metrics say how long each query waited for the model."""
import asyncio
import time
import uuid

import grpc
import psycopg
from prometheus_client import REGISTRY
from tianshu.inference.v1 import inference_pb2, inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.settings import RagSettings
from tianshu_rag.storage.database import ROWS_PER_YIELD

QUEUED, RUNNING, SUCCEEDED = pb.INGEST_JOB_STATE_QUEUED, pb.INGEST_JOB_STATE_RUNNING, pb.INGEST_JOB_STATE_SUCCEEDED
WORDS = ("heron", "river", "reed", "marsh", "wing", "fish", "stone", "mud", "dawn", "tide", "feather", "nest")


def _documents(prefix: str, count: int) -> list[pb.Document]:
    """One-chunk documents of about 150 words: each takes the model real time to read."""
    return [pb.Document(document_id=f"{prefix}-{i}", content=" ".join(
        f"{WORDS[(i + k) % len(WORDS)]}{k % 7}" for k in range(150)).encode(), content_type="text/plain")
        for i in range(count)]


def _queue_wait() -> tuple[float, float]:
    """(sum, count) of the inference service's interactive embedding queue waits."""
    labels = {"model": "all-minilm-l6-v2", "priority": "interactive"}
    return (REGISTRY.get_sample_value("tianshu_inference_embed_queue_seconds_sum", labels) or 0.0,
            REGISTRY.get_sample_value("tianshu_inference_embed_queue_seconds_count", labels) or 0.0)


async def _seconds_to_embed(inference_server, documents: list[pb.Document]) -> float:
    """How long the model takes for one of the ingest's Embed calls, alone."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inference_server.port}") as channel:
        started = time.perf_counter()
        await inference_pb2_grpc.InferenceServiceStub(channel).Embed(inference_pb2.EmbedRequest(
            model="all-minilm-l6-v2", texts=[d.content.decode() for d in documents],
            priority=inference_pb2.PRIORITY_BATCH))
        return time.perf_counter() - started


async def _job(stub, tenant: str, job: pb.IngestJob) -> pb.IngestJob:
    return (await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job


async def test_a_search_during_an_ingest_does_not_wait_for_its_embedding_steps(gated_rag, watch_job,
                                                                                inference_server):
    loader, reader = (f"tenant-{uuid.uuid4().hex[:8]}" for _ in range(2))
    batch = RagSettings().embed_batch_size
    async with gated_rag(10**6, ingest_max_running_jobs=1) as rag:
        for tenant in (loader, reader):
            await rag.stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="c"))
        small = (await rag.stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=reader, collection_id="c", documents=_documents("reader", 3)))).job
        assert (await watch_job(rag.stub, reader, small.job_id)).state == SUCCEEDED

        one_call = await _seconds_to_embed(inference_server, _documents("probe", batch))
        large = (await rag.stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=loader, collection_id="c", documents=_documents("large", 8 * batch)))).job
        after_it = (await rag.stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=loader, collection_id="c", documents=_documents("next", batch)))).job
        for _ in range(3000):
            running = await _job(rag.stub, loader, large)
            if running.state == RUNNING and running.chunks_done >= batch:
                break
            await asyncio.sleep(0.01)
        assert running.state == RUNNING and running.chunks_done < running.chunks_total, running

        waits = []
        for _ in range(3):
            waited_before = _queue_wait()
            hits = (await rag.stub.Search(pb.SearchRequest(
                tenant_id=reader, collection_id="c", query="heron marsh at dawn",
                options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_VECTOR, top_k=3)))).hits
            waited_after = _queue_wait()
            assert len(hits) == 3
            waits.append((waited_after[0] - waited_before[0]) / (waited_after[1] - waited_before[1]))
        then = await _job(rag.stub, loader, large)

        assert then.state == RUNNING and (await _job(rag.stub, loader, after_it)).state == QUEUED
        # Queued behind the ingest's Embed calls, a query waits for one to end, half a call on
        # average: three queries in a row would not all wait under a tenth of one.
        assert max(waits) < one_call / 10, (waits, one_call)
        assert (await watch_job(rag.stub, loader, after_it.job_id)).state == SUCCEEDED


async def test_a_job_s_rows_are_written_with_turns_for_other_calls_every_few_rows(monkeypatch, new_collection,
                                                                                 ingest):
    # Formatting rows for COPY never waits: without turns in between, writing a large group of
    # chunks held the event loop (and every search on it) for as long as the group took.
    written = 0
    write_row = psycopg.AsyncCopy.write_row

    async def counted(self, row):
        nonlocal written
        written += 1
        await write_row(self, row)

    monkeypatch.setattr(psycopg.AsyncCopy, "write_row", counted)
    seen: list[int] = []

    async def other_calls():
        while True:
            seen.append(written)
            await asyncio.sleep(0)

    turns = asyncio.create_task(other_calls())
    try:
        await new_collection("rows")
        job = await ingest("rows", [(f"note-{i}", f"note {i}: the heron waits by the reed", "text/plain")
                                    for i in range(3 * ROWS_PER_YIELD)])
    finally:
        turns.cancel()
    assert job.state == SUCCEEDED and job.chunks_done == 3 * ROWS_PER_YIELD
    assert written == 2 * 3 * ROWS_PER_YIELD, "each document as a queued input, then its chunk"
    assert max(b - a for a, b in zip(seen, seen[1:])) <= ROWS_PER_YIELD

"""A search is not held up by another tenant's ingestion, against the real embedding model: its
query's embedding goes to the inference service's interactive lane, not behind the chunks the
ingest job has in flight."""
import asyncio
import uuid

from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.settings import RagSettings

QUEUED, RUNNING, SUCCEEDED = pb.INGEST_JOB_STATE_QUEUED, pb.INGEST_JOB_STATE_RUNNING, pb.INGEST_JOB_STATE_SUCCEEDED
WORDS = ("heron", "river", "reed", "marsh", "wing", "fish", "stone", "mud", "dawn", "tide", "feather", "nest")


def _documents(prefix: str, count: int) -> list[pb.Document]:
    """One-chunk documents of about 150 words: each takes the model real time to read."""
    return [pb.Document(document_id=f"{prefix}-{i}", content=" ".join(
        f"{WORDS[(i + k) % len(WORDS)]}{k % 7}" for k in range(150)).encode(), content_type="text/plain")
        for i in range(count)]


async def _job(stub, tenant: str, job: pb.IngestJob) -> pb.IngestJob:
    return (await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job


async def test_a_search_answers_while_the_ingest_under_way_has_moved_at_most_one_batch(gated_rag, watch_job):
    loader, reader = (f"tenant-{uuid.uuid4().hex[:8]}" for _ in range(2))
    batch = RagSettings().embed_batch_size
    async with gated_rag(10**6, ingest_max_running_jobs=1) as rag:
        for tenant in (loader, reader):
            await rag.stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="c"))
        small = (await rag.stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=reader, collection_id="c", documents=_documents("reader", 3)))).job
        assert (await watch_job(rag.stub, reader, small.job_id)).state == SUCCEEDED

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

        hits = (await rag.stub.Search(pb.SearchRequest(
            tenant_id=reader, collection_id="c", query="heron marsh at dawn",
            options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_VECTOR, top_k=3)))).hits
        then = await _job(rag.stub, loader, large)

        assert len(hits) == 3
        assert then.state == RUNNING and (await _job(rag.stub, loader, after_it)).state == QUEUED
        # The job keeps two Embed calls of `batch` chunks in flight: had the query queued behind
        # them, both would have finished first.
        assert then.chunks_done - running.chunks_done <= batch
        assert (await watch_job(rag.stub, loader, after_it.job_id)).state == SUCCEEDED

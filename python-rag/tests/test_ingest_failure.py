"""An ingest whose embedding backend goes away midway leaves the collection as it was.

The backend is a real gRPC inference server (the session's real InferenceServicer, models
and all) on its own port, behind a gate (conftest.EmbedGate) that lets a few Embed calls
through and holds the next one until the test has stopped the server. So the failure
happens exactly mid-ingest, without timing guesses."""
from tianshu.rag.v1 import rag_pb2 as pb

EMBED_CALLS_ALLOWED = 3


async def test_stopping_the_embedding_backend_mid_ingest_leaves_the_collection_exactly_as_it_was(
        gated_rag, tenant, watch_job):
    async with gated_rag(EMBED_CALLS_ALLOWED, embed_batch_size=2) as rag:
        stub = rag.stub
        first = await rag.start_ingest(tenant, [
            pb.Document(document_id="keep", content=b"Version one of the kept document.", content_type="text/plain")])
        assert (await watch_job(stub, tenant, first.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
        before = await _snapshot(stub, tenant)

        docs = [pb.Document(document_id="keep", content=b"Version two of the kept document.",
                            content_type="text/plain")]
        docs += [pb.Document(document_id=f"new-{i}", content=f"New document number {i}.".encode(),
                             content_type="text/plain") for i in range(20)]
        started = await stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="c",
                                                                       documents=docs))
        await rag.gate.held.wait()  # two batches embedded, the third is in flight
        await rag.backend.stop(0)
        job = await watch_job(stub, tenant, started.job.job_id)

        assert job.state == pb.INGEST_JOB_STATE_FAILED
        assert "Embed" in job.error
        assert 0 < job.chunks_done < job.chunks_total
        assert job.documents_failed == 21
        assert await _snapshot(stub, tenant) == before


async def _snapshot(stub, tenant):
    [collection] = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    hits = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id="c", query="document version",
                                              options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=50)))
    return collection.document_count, collection.chunk_count, [(h.chunk_id, h.text) for h in hits.hits]

"""An ingest whose embedding backend goes away midway leaves the collection as it was.

The backend is a real gRPC inference server (the session's real InferenceServicer, models
and all) on its own port, behind an interceptor that lets a few Embed calls through and
holds the next one until the test has stopped the server. So the failure happens exactly
mid-ingest, without timing guesses."""
import asyncio

import grpc
import pytest_asyncio
from tianshu.inference.v1 import inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from tianshu_rag.server import RagServer

EMBED_CALLS_ALLOWED = 3


class HoldEmbedAfter(grpc.aio.ServerInterceptor):
    def __init__(self, allowed: int):
        self.allowed = allowed
        self.held = asyncio.Event()
        self._release = asyncio.Event()

    async def intercept_service(self, continuation, details):
        if details.method.endswith("/Embed"):
            if self.allowed == 0:
                self.held.set()
                await self._release.wait()  # until the server is stopped under it
            else:
                self.allowed -= 1
        return await continuation(details)


@pytest_asyncio.fixture
async def doomed_backend(inference_server):
    gate = HoldEmbedAfter(EMBED_CALLS_ALLOWED)
    server = grpc.aio.server(interceptors=[gate])
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(inference_server.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield gate, server, port
    await server.stop(0)


async def test_stopping_the_embedding_backend_mid_ingest_leaves_the_collection_exactly_as_it_was(
        pg_url, make_rag_settings, doomed_backend, tenant, watch_job):
    gate, backend, port = doomed_backend
    rag = RagServer(make_rag_settings(pg_url, port, embed_batch_size=2))
    await rag.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{rag.port}") as channel:
            stub = pb_grpc.RagServiceStub(channel)
            await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="c"))
            first = await stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="c", documents=[
                pb.Document(document_id="keep", content=b"Version one of the kept document.", content_type="text/plain")]))
            assert (await watch_job(stub, tenant, first.job.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
            before = await _snapshot(stub, tenant)

            docs = [pb.Document(document_id="keep", content=b"Version two of the kept document.",
                                content_type="text/plain")]
            docs += [pb.Document(document_id=f"new-{i}", content=f"New document number {i}.".encode(),
                                 content_type="text/plain") for i in range(20)]
            started = await stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="c",
                                                                           documents=docs))
            await gate.held.wait()  # two batches embedded, the third is in flight
            await backend.stop(0)
            job = await watch_job(stub, tenant, started.job.job_id)

            assert job.state == pb.INGEST_JOB_STATE_FAILED
            assert "Embed" in job.error
            assert 0 < job.chunks_done < job.chunks_total
            assert job.documents_failed == 21
            assert await _snapshot(stub, tenant) == before
    finally:
        await rag.stop()


async def _snapshot(stub, tenant):
    [collection] = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    hits = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id="c", query="document version",
                                              options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=50)))
    return collection.document_count, collection.chunk_count, [(h.chunk_id, h.text) for h in hits.hits]

"""WatchIngestJob is driven by PostgreSQL notifications: with the fallback re-read set to an
hour, every update below can only have come from a NOTIFY. Embedding advances one Embed call
at a time under the test's control, so each step's progress is known."""
import asyncio

import grpc
import pytest
from tianshu.rag.v1 import rag_pb2 as pb

DOCUMENTS = [pb.Document(document_id=f"d{i}", content=f"Watched document number {i}.".encode(),
                         content_type="text/plain") for i in range(4)]


async def test_a_watcher_sees_each_progress_step_and_the_final_state_by_notification(gated_rag, tenant):
    async with gated_rag(0, embed_batch_size=2, job_watch_fallback_seconds=3600) as rag:
        job = await rag.start_ingest(tenant, DOCUMENTS)
        await rag.gate.held.wait()
        updates = rag.stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant, job_id=job.job_id))

        async def next_job() -> pb.IngestJob:
            return (await asyncio.wait_for(updates.read(), 10)).job

        first = await next_job()
        assert (first.state, first.chunks_total, first.chunks_done) == (pb.INGEST_JOB_STATE_RUNNING, 4, 0)

        rag.gate.let_through()  # the first batch of two chunks
        step = await next_job()
        assert (step.state, step.chunks_done) == (pb.INGEST_JOB_STATE_RUNNING, 2)

        rag.gate.let_through()  # the second batch, then the commit
        seen = [await next_job()]
        while seen[-1].state == pb.INGEST_JOB_STATE_RUNNING:
            seen.append(await next_job())
        assert seen[-1].state == pb.INGEST_JOB_STATE_SUCCEEDED
        assert (seen[-1].documents_done, seen[-1].chunks_done) == (4, 4)
        assert await updates.read() == grpc.aio.EOF


async def test_watching_an_unknown_job_is_not_found(stub, tenant):
    call = stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant, job_id="00000000-0000-0000-0000-000000000000"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call.read()
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND

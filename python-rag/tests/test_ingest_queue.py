"""Ingest jobs wait in a queue: each server runs at most TIANSHU_RAG_INGEST_MAX_RUNNING_JOBS at
once, tenants take turns for free slots, queued jobs survive a restart, and a job that needs
more embedding tokens than the caller allows is refused up front. Which job runs when is
forced by the gated embedding backend (conftest.EmbedGate): a running job holds its slot
until the test lets its Embed calls through. Job states and positions are read as callers
read them, through GetIngestJob and WatchIngestJob."""
import asyncio
import uuid

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu.inference.v1 import inference_pb2, inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.storage import migrations
from tianshu_rag.storage.collections import CollectionStore
from tianshu_rag.storage.database import Database
from tianshu_rag.storage.job_events import QUEUE_CHANNEL
from tianshu_rag.storage.jobs import JobStore

QUEUED, RUNNING, SUCCEEDED, FAILED = (pb.INGEST_JOB_STATE_QUEUED, pb.INGEST_JOB_STATE_RUNNING,
                                      pb.INGEST_JOB_STATE_SUCCEEDED, pb.INGEST_JOB_STATE_FAILED)


def _documents(prefix: str, count: int) -> list[pb.Document]:
    """count one-chunk documents: each job below makes exactly one Embed call."""
    return [pb.Document(document_id=f"{prefix}-{i}", content=f"Document {prefix} {i} is about herons.".encode(),
                        content_type="text/plain") for i in range(count)]


async def _upload(stub, tenant: str, documents, collection: str = "c", **request) -> pb.IngestJob:
    return (await stub.IngestDocuments(pb.IngestDocumentsRequest(
        tenant_id=tenant, collection_id=collection, documents=documents, **request))).job


async def _create(stub, tenant: str, collection: str = "c") -> None:
    await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id=collection))


async def _queue_view(stub, jobs: dict[str, tuple[str, pb.IngestJob]]) -> dict[str, tuple[int, int]]:
    """{name: (state, queue_position)} of each job as GetIngestJob reports it now."""
    view = {}
    for name, (tenant, job) in jobs.items():
        now = (await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job
        view[name] = (now.state, now.queue_position)
    return view


async def test_queued_jobs_report_their_place_with_tenants_taking_turns(gated_rag, watch_job):
    a, b, c = (f"tenant-{uuid.uuid4().hex[:8]}" for _ in range(3))
    async with gated_rag(0, ingest_max_running_jobs=1) as rag:
        for tenant in (a, b, c):
            await _create(rag.stub, tenant)
        jobs = {"a0": (a, await _upload(rag.stub, a, _documents("a0", 3)))}
        await rag.gate.held.wait()  # a0 has the only slot
        jobs["a1"] = (a, await _upload(rag.stub, a, _documents("a1", 3)))
        jobs["a2"] = (a, await _upload(rag.stub, a, _documents("a2", 3)))
        jobs["b0"] = (b, await _upload(rag.stub, b, _documents("b0", 1)))
        jobs["b1"] = (b, await _upload(rag.stub, b, _documents("b1", 1)))
        jobs["c0"] = (c, await _upload(rag.stub, c, _documents("c0", 1)))

        # a has a job running; b and c never started one, b's upload came first. Then each
        # tenant's next job in turn.
        assert await _queue_view(rag.stub, jobs) == {
            "a0": (RUNNING, 0), "b0": (QUEUED, 1), "c0": (QUEUED, 2), "a1": (QUEUED, 3), "b1": (QUEUED, 4),
            "a2": (QUEUED, 5)}

        rag.gate.let_through()
        assert (await watch_job(rag.stub, a, jobs["a0"][1].job_id)).state == SUCCEEDED
        await rag.gate.held.wait()  # the next job took the slot
        assert await _queue_view(rag.stub, {k: v for k, v in jobs.items() if k != "a0"}) == {
            "b0": (RUNNING, 0), "c0": (QUEUED, 1), "a1": (QUEUED, 2), "b1": (QUEUED, 3), "a2": (QUEUED, 4)}
        rag.gate.let_through(5)
        for name, (tenant, job) in jobs.items():
            assert (await watch_job(rag.stub, tenant, job.job_id)).state == SUCCEEDED, name


async def test_a_second_tenants_small_upload_finishes_while_the_first_tenants_large_ones_wait(gated_rag):
    big, small = f"big-{uuid.uuid4().hex[:8]}", f"small-{uuid.uuid4().hex[:8]}"
    # Every change below reaches the watcher by notification, or the test times out.
    async with gated_rag(0, ingest_max_running_jobs=1, job_watch_fallback_seconds=3600) as rag:
        await _create(rag.stub, big)
        await _create(rag.stub, small)
        uploads = [await _upload(rag.stub, big, _documents("big0", 20))]
        await rag.gate.held.wait()
        uploads += [await _upload(rag.stub, big, _documents(f"big{n}", 20)) for n in range(1, 4)]
        watched = rag.stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=big, job_id=uploads[1].job_id))

        async def next_seen() -> tuple[int, int]:
            job = (await asyncio.wait_for(watched.read(), 30)).job
            return job.state, job.queue_position

        assert await next_seen() == (QUEUED, 1)
        mine = await _upload(rag.stub, small, _documents("small", 1))
        assert await next_seen() == (QUEUED, 2)  # the small tenant's job goes first

        rag.gate.let_through()  # the big tenant's first job ends, the small tenant's starts
        assert await next_seen() == (QUEUED, 1)
        updates = rag.stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=small, job_id=mine.job_id))
        assert (await asyncio.wait_for(updates.read(), 30)).job.state == RUNNING
        rag.gate.let_through()
        seen = [(await asyncio.wait_for(updates.read(), 30)).job]
        while seen[-1].state == RUNNING:
            seen.append((await asyncio.wait_for(updates.read(), 30)).job)
        assert seen[-1].state == SUCCEEDED
        await rag.gate.held.wait()  # the big tenant's next job took the slot

        views = [(await rag.stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=big, job_id=j.job_id))).job
                 for j in uploads]
        assert [(j.state, j.queue_position) for j in views] == [
            (SUCCEEDED, 0), (RUNNING, 0), (QUEUED, 1), (QUEUED, 2)]
        assert all(j.documents_done == 0 for j in views[2:])


async def test_queued_and_running_jobs_survive_a_restart_and_each_document_is_stored_once(
        gated_rag, tenant, watch_job):
    async with gated_rag(0, ingest_max_running_jobs=2) as rag:
        url = rag.url
        await _create(rag.stub, tenant)
        jobs = [await _upload(rag.stub, tenant, _documents(f"job{n}", 2)) for n in range(4)]
        await asyncio.wait_for(rag.gate.until_waiting(2), 60)  # two jobs mid-embedding, two queued
        assert [j.state for j in await _read_jobs(rag.stub, tenant, jobs)] == [RUNNING, RUNNING, QUEUED, QUEUED]
    # Stopped: the running jobs went back to the queue, progress reset, documents kept.
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT state, chunks_done, started_at IS NULL, (SELECT count(*) FROM "
                                 "ingest_job_inputs i WHERE i.job_id = j.id) FROM ingest_jobs j ORDER BY created_at")
        assert await cur.fetchall() == [("QUEUED", 0, True, 2)] * 4

    async with gated_rag(len(jobs), url=url) as restarted:
        finals = [await watch_job(restarted.stub, tenant, j.job_id) for j in jobs]
        assert [(j.state, j.documents_done, j.chunks_done, j.chunks_total) for j in finals] == \
            [(SUCCEEDED, 2, 2, 2)] * 4
        [collection] = (await restarted.stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
        assert (collection.document_count, collection.chunk_count) == (8, 8)
        hits = (await restarted.stub.Search(pb.SearchRequest(
            tenant_id=tenant, collection_id="c", query="herons",
            options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=50)))).hits
        assert sorted(h.chunk_id for h in hits) == sorted(f"job{n}-{i}#0" for n in range(4) for i in range(2))
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT count(*) FROM ingest_job_inputs")
        assert (await cur.fetchone())[0] == 0


async def _read_jobs(stub, tenant: str, jobs) -> list[pb.IngestJob]:
    return [(await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=j.job_id))).job for j in jobs]


async def test_one_job_keeps_two_embed_calls_in_flight_and_records_progress_in_order(gated_rag, tenant):
    async with gated_rag(0, embed_batch_size=2, job_watch_fallback_seconds=3600) as rag:
        await _create(rag.stub, tenant)
        job = await _upload(rag.stub, tenant, _documents("d", 6))  # three batches
        # The second batch waits at the inference service while the first is still there.
        await asyncio.wait_for(rag.gate.until_waiting(2), 60)
        updates = rag.stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant, job_id=job.job_id))

        async def next_job() -> pb.IngestJob:
            return (await asyncio.wait_for(updates.read(), 30)).job

        assert ((first := await next_job()).state, first.chunks_done) == (RUNNING, 0)
        for chunks_done in (2, 4):  # each batch recorded as it returns, in order
            rag.gate.let_through()
            assert ((step := await next_job()).state, step.chunks_done) == (RUNNING, chunks_done)
        rag.gate.let_through()
        last = await next_job()
        while last.state == RUNNING:
            last = await next_job()
    assert (last.state, last.chunks_done) == (SUCCEEDED, 6)


@pytest.fixture
async def inference_stub(inference_server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inference_server.port}") as channel:
        yield inference_pb2_grpc.InferenceServiceStub(channel)


async def test_a_job_over_max_embedding_tokens_is_refused_before_anything_is_stored(
        stub, tenant, new_collection, inference_stub, pg_url, watch_job):
    await new_collection("c")
    documents = _documents("d", 3)
    # What the embedding model itself reports reading for these texts (one chunk each).
    embedded = await inference_stub.Embed(inference_pb2.EmbedRequest(
        model="all-minilm-l6-v2", texts=[d.content.decode() for d in documents]))
    needed = embedded.usage.prompt_tokens
    assert needed > 3

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _upload(stub, tenant, documents, max_embedding_tokens=needed - 1)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.details() == (f"the documents need {needed} embedding tokens, more than "
                                       f"max_embedding_tokens ({needed - 1})")
    quota, info = error_details_pb2.QuotaFailure(), error_details_pb2.ErrorInfo()
    packed = rpc_status.from_call(refused.value).details
    assert packed[0].Unpack(quota) and packed[1].Unpack(info)
    assert [(v.subject, v.description, v.quota_value) for v in quota.violations] == [
        (f"tenant:{tenant}", refused.value.details(), needed - 1)]
    # The numbers for programs (the gateway's ingestion quota), without parsing the message.
    assert (info.reason, dict(info.metadata)) == ("EMBEDDING_TOKENS_OVER_LIMIT", {
        "needed_embedding_tokens": str(needed), "max_embedding_tokens": str(needed - 1)})
    [collection] = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    assert collection.document_count == 0
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM ingest_jobs WHERE tenant_id = %s", (tenant,))
        assert (await cur.fetchone())[0] == 0

    job = await _upload(stub, tenant, documents, max_embedding_tokens=needed)  # exactly enough
    assert job.embedding_tokens == needed
    assert (await watch_job(stub, tenant, job.job_id)).state == SUCCEEDED


async def test_a_negative_max_embedding_tokens_is_invalid(stub, tenant, new_collection):
    await new_collection("c")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _upload(stub, tenant, _documents("d", 1), max_embedding_tokens=-1)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "max_embedding_tokens: must not be negative (0 = no limit)"


def _legacy_job(url: str, columns: str, values: str) -> tuple[uuid.UUID, int]:
    """Collection 'c' of tenant 't' and one job of it, as a release of that time wrote them:
    the job's columns after its collection_name, and their values. -> (job id, collection id)"""
    legacy = uuid.uuid4()
    with psycopg.connect(url) as conn:
        [(collection_id,)] = conn.execute(
            "INSERT INTO collections (tenant_id, name, embedding_model, dimension) "
            "VALUES ('t', 'c', 'all-minilm-l6-v2', 384) RETURNING id").fetchall()
        conn.execute(f"INSERT INTO ingest_jobs (id, tenant_id, collection_id, collection_name, {columns}) "
                     f"VALUES (%s, 't', %s, 'c', {values})", (legacy, collection_id))
    return legacy, collection_id


async def test_migration_0005_queues_jobs_on_a_database_at_0004(database_at):
    url = database_at(4)
    # A job a replica of the release before runs: RUNNING, its documents only in its memory.
    legacy, collection_id = _legacy_job(url, "state, documents_total, lease_expires_at",
                                        "'RUNNING', 2, now() + interval '1 hour'")

    assert (await asyncio.to_thread(migrations.migrate, url))[:2] == [5, 6]
    db = await Database.open(url)
    try:
        jobs = JobStore(db)
        before = await jobs.get("t", str(legacy))
        assert (before.state, before.queue_position, before.embedding_tokens) == ("RUNNING", 0, 0)
        assert await jobs.claim_next(lease_seconds=30) is None  # only queued jobs are claimed

        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listener:
            await listener.execute(f"LISTEN {QUEUE_CHANNEL}")
            queued = await jobs.create("t", collection_id, "c", [b"{}", b"{}"], 2, 20, "all-minilm-l6-v2")
            notification = await anext(listener.notifies(timeout=30))
        assert notification.payload == queued.id
        assert (queued.state, queued.queue_position, queued.embedding_tokens) == ("QUEUED", 1, 20)

        await CollectionStore(db).delete("t", "c")
        after = {job.id: job for job in [await jobs.get("t", str(legacy)), await jobs.get("t", queued.id)]}
    finally:
        await db.close()
    assert {(j.state, j.documents_failed, j.queue_position) for j in after.values()} == {("FAILED", 2, 0)}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM ingest_job_inputs").fetchone()[0] == 0


async def test_migration_0006_keeps_jobs_created_before_it_readable_with_no_model(database_at):
    url = database_at(5)
    legacy, collection_id = _legacy_job(url, "state, documents_total, embedding_tokens", "'SUCCEEDED', 1, 7")

    assert (await asyncio.to_thread(migrations.migrate, url))[0] == 6
    db = await Database.open(url)
    try:
        jobs = JobStore(db)
        before = await jobs.get("t", str(legacy))
        created = await jobs.create("t", collection_id, "c", [b"{}"], 1, 5, "all-minilm-l6-v2")
        after = await jobs.get("t", created.id)
    finally:
        await db.close()
    assert (before.embedding_tokens, before.embedding_model) == (7, "")
    assert (after.embedding_tokens, after.embedding_model) == (5, "all-minilm-l6-v2")

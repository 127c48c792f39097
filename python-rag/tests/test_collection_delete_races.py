"""Deleting a collection while an upload into it starts or runs. Each interleaving is forced:
a step of the service is held (conftest.pause) or the embedding backend is (EmbedGate) while
the other call runs, and a call that must wait for a lock is seen waiting in
pg_stat_activity before the test lets the other one go on. No timing guesses."""
import asyncio
import logging
import uuid

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu.rag.v1 import rag_pb2 as pb

from conftest import stored_inputs, wait_for_lock_wait
from tianshu_rag.storage import documents as document_store
from tianshu_rag.storage import migrations
from tianshu_rag.storage.collections import CollectionStore
from tianshu_rag.storage.database import Database
from tianshu_rag.storage.jobs import JobStore

DELETED = "collection 'c' was deleted while the job ran; nothing of the job was stored"
KEPT = pb.Document(document_id="kept", content=b"The kept document talks about otters.", content_type="text/plain")
NEW = [pb.Document(document_id=f"new-{i}", content=f"New document {i} talks about beavers.".encode(),
                   content_type="text/plain") for i in range(3)]


async def _collection_id(url: str, tenant: str, name: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT id FROM collections WHERE tenant_id = %s AND name = %s", (tenant, name))
        return (await cur.fetchone())[0]


async def _rows_referring_to(url: str, collection_id: int) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        counts = {}
        for table, column in (("collections", "id"), ("documents", "collection_id"), ("chunks", "collection_id"),
                              ("ingest_jobs", "collection_id")):
            cur = await conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", (collection_id,))
            counts[table] = (await cur.fetchone())[0]
        return counts


NOTHING = {"collections": 0, "documents": 0, "chunks": 0, "ingest_jobs": 0}


async def _stored_job(url: str, job_id: str) -> tuple:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT state, collection_id, collection_name FROM ingest_jobs WHERE id = %s",
                                 (job_id,))
        return await cur.fetchone()


async def _ingested(stub, tenant: str, documents, collection: str = "c") -> pb.IngestJob:
    return (await stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id=collection,
                                                                 documents=documents))).job


async def test_an_upload_whose_collection_is_deleted_as_it_starts_is_not_found_and_records_no_job(
        stub, tenant, new_collection, pause, pg_url):
    await new_collection("doomed")
    recording = pause(JobStore, "create")
    upload = asyncio.create_task(_ingested(stub, tenant, NEW, collection="doomed"))
    await asyncio.wait_for(recording.reached.wait(), 60)  # it found the collection and chunked the documents
    await stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant, collection_id="doomed"))
    recording.release.set()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert refused.value.details() == "collection 'doomed' not found"
    info = error_details_pb2.ResourceInfo()
    assert rpc_status.from_call(refused.value).details[0].Unpack(info)
    assert (info.resource_type, info.resource_name) == ("collection", "doomed")
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM ingest_jobs WHERE tenant_id = %s", (tenant,))
        assert (await cur.fetchone())[0] == 0


async def test_deleting_a_collection_mid_ingest_fails_the_job_saying_so_and_leaves_nothing_behind(
        gated_rag, tenant, watch_job, caplog):
    caplog.set_level(logging.WARNING, logger="tianshu_rag.ingestion.runner")
    async with gated_rag(1) as rag:  # one Embed call passes: the first upload's
        first = await rag.start_ingest(tenant, [KEPT])
        assert (await watch_job(rag.stub, tenant, first.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
        collection_id = await _collection_id(rag.url, tenant, "c")
        job = await _ingested(rag.stub, tenant, NEW)
        await rag.gate.held.wait()  # mid-ingest: its embedding is under way
        watching = rag.stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant, job_id=job.job_id)).__aiter__()
        assert (await watching.__anext__()).job.state == pb.INGEST_JOB_STATE_RUNNING

        await rag.stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant, collection_id="c"))
        *_, watched = [update.job async for update in watching]
        polled = (await rag.stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job
        assert watched == polled
        assert (polled.state, polled.error, polled.documents_failed) == (pb.INGEST_JOB_STATE_FAILED, DELETED, 3)

        rag.gate.let_through()  # the worker's embedding returns; it must drop the work, not store it
        await _logged(caplog, job.job_id, "its work is dropped")
        assert (await rag.stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job == polled
    # The server has stopped: whatever its worker did is on disk now.
    assert await _rows_referring_to(rag.url, collection_id) == NOTHING
    assert await _stored_job(rag.url, job.job_id) == ("FAILED", None, "c")
    assert await _stored_job(rag.url, first.job_id) == ("SUCCEEDED", None, "c")


async def test_deleting_a_collection_fails_its_queued_jobs_and_drops_their_stored_documents(
        gated_rag, tenant, watch_job):
    async with gated_rag(0, ingest_max_running_jobs=1) as rag:
        running = await rag.start_ingest(tenant, [KEPT], collection="other")
        await rag.gate.held.wait()  # it holds the only slot
        await rag.stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="c"))
        queued = [await _ingested(rag.stub, tenant, NEW[:2]), await _ingested(rag.stub, tenant, NEW[2:])]
        assert [(j.state, j.queue_position) for j in queued] == [(pb.INGEST_JOB_STATE_QUEUED, 1),
                                                                 (pb.INGEST_JOB_STATE_QUEUED, 2)]
        collection_id = await _collection_id(rag.url, tenant, "c")

        await rag.stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant, collection_id="c"))
        failed = [(await rag.stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=j.job_id))).job
                  for j in queued]
        assert [(j.state, j.error, j.documents_failed, j.queue_position) for j in failed] == [
            (pb.INGEST_JOB_STATE_FAILED, DELETED, 2, 0), (pb.INGEST_JOB_STATE_FAILED, DELETED, 1, 0)]
        assert [await stored_inputs(rag.url, j.job_id) for j in queued] == [0, 0]

        rag.gate.let_through()  # the slot frees; nothing of the deleted collection may take it
        assert (await watch_job(rag.stub, tenant, running.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
        later = await _ingested(rag.stub, tenant, NEW[:1], collection="other")
        await rag.gate.held.wait()  # the next job to start is the one queued after the delete
        rag.gate.let_through()
        assert (await watch_job(rag.stub, tenant, later.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
        assert [(await watch_job(rag.stub, tenant, j.job_id)) for j in queued] == failed
    assert await _rows_referring_to(rag.url, collection_id) == NOTHING
    assert [await _stored_job(rag.url, j.job_id) for j in queued] == [("FAILED", None, "c")] * 2


async def test_a_delete_that_comes_while_an_ingest_commits_waits_for_it_then_removes_everything(
        stub, tenant, new_collection, pause, pg_url, watch_job):
    await new_collection("c")
    collection_id = await _collection_id(pg_url, tenant, "c")
    writing = pause(document_store, "replace_all")  # inside the job's transaction, which holds the collection
    job = await _ingested(stub, tenant, NEW[:1])
    await asyncio.wait_for(writing.reached.wait(), 120)
    deleting = asyncio.ensure_future(stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant,
                                                                                    collection_id="c")))
    await wait_for_lock_wait(pg_url, "%FROM collections%")
    writing.release.set()

    await deleting
    assert (await watch_job(stub, tenant, job.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
    assert await _rows_referring_to(pg_url, collection_id) == NOTHING
    assert await _stored_job(pg_url, job.job_id) == ("SUCCEEDED", None, "c")


async def test_an_ingest_that_commits_while_a_delete_is_under_way_waits_then_fails_saying_so(
        gated_rag, tenant, pause, watch_job):
    async with gated_rag(1) as rag:
        first = await rag.start_ingest(tenant, [KEPT])
        assert (await watch_job(rag.stub, tenant, first.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
        collection_id = await _collection_id(rag.url, tenant, "c")
        job = await _ingested(rag.stub, tenant, NEW[:1])
        await rag.gate.held.wait()
        failing = pause(JobStore, "fail_unfinished_in")  # the delete holds the collection's row here
        deleting = asyncio.ensure_future(rag.stub.DeleteCollection(pb.DeleteCollectionRequest(
            tenant_id=tenant, collection_id="c")))
        await asyncio.wait_for(failing.reached.wait(), 60)
        rag.gate.let_through()
        await wait_for_lock_wait(rag.url, "%FROM collections%")  # the job's commit waits for the delete
        failing.release.set()

        await deleting
        final = await watch_job(rag.stub, tenant, job.job_id)
    assert (final.state, final.error) == (pb.INGEST_JOB_STATE_FAILED, DELETED)
    assert await _rows_referring_to(rag.url, collection_id) == NOTHING
    assert await _stored_job(rag.url, job.job_id) == ("FAILED", None, "c")


async def test_migration_0004_lets_the_jobs_of_a_database_migrated_before_it_outlive_their_collection(
        database_at):
    url = database_at(3)
    with psycopg.connect(url) as conn:
        [(collection_id,)] = conn.execute(
            "INSERT INTO collections (tenant_id, name, embedding_model, dimension) "
            "VALUES ('t', 'c', 'm', 384) RETURNING id").fetchall()
        for job_id, state in ((uuid.uuid4(), "RUNNING"), (uuid.uuid4(), "SUCCEEDED")):
            conn.execute("INSERT INTO ingest_jobs (id, tenant_id, collection_id, collection_name, state, "
                         "documents_total, lease_expires_at) VALUES (%s, 't', %s, 'c', %s, 2, now() + interval "
                         "'1 hour')", (job_id, collection_id, state))

    assert (await asyncio.to_thread(migrations.migrate, url))[0] == 4
    db = await Database.open(url)
    try:
        await CollectionStore(db).delete("t", "c")
    finally:
        await db.close()
    with psycopg.connect(url) as conn:
        jobs = conn.execute("SELECT state, error, documents_failed, collection_id FROM ingest_jobs "
                            "ORDER BY state").fetchall()
    assert jobs == [("FAILED", DELETED, 2, None), ("SUCCEEDED", "", 0, None)]


async def _logged(caplog, job_id: str, text: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(getattr(r, "job_id", None) == job_id and text in r.getMessage() for r in caplog.records):
        assert loop.time() < deadline, f"job {job_id} never logged {text!r}"
        await asyncio.sleep(0.05)

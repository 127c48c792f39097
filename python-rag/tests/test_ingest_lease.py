"""Ingest jobs hold a lease while they run, so a job whose process died does not stay
RUNNING forever: the RAG service is a real separate process here, killed with SIGKILL
mid-job (no handler runs), and another replica on the same PostgreSQL fails its job."""
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from conftest import stored_inputs
from tianshu_rag.server import RagServer
from tianshu_rag.storage.collections import CollectionStore
from tianshu_rag.storage.database import Database
from tianshu_rag.storage.jobs import JobStore

LEASE = 1.0
DOCUMENTS = [pb.Document(document_id=f"d{i}", content=f"Leased document number {i}.".encode(),
                         content_type="text/plain") for i in range(4)]


async def _serving(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.poll() is None, "the RAG process exited"
            try:
                if (await health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.2)
    pytest.fail("the RAG process did not start")


@pytest.fixture
def rag_process(unused_tcp_port):
    """start(url, inference_port) -> (process, port): `python -m tianshu_rag` as its own process."""
    processes = []

    def start(url: str, inference_port: int):
        env = {**os.environ, "TIANSHU_RAG_DATABASE_URL": url, "TIANSHU_RAG_PORT": str(unused_tcp_port),
               "TIANSHU_RAG_METRICS_PORT": "0", "TIANSHU_RAG_INFERENCE_TARGET": f"127.0.0.1:{inference_port}",
               "TIANSHU_RAG_JOB_LEASE_SECONDS": str(LEASE)}
        process = subprocess.Popen([sys.executable, "-m", "tianshu_rag"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        processes.append(process)
        return process, unused_tcp_port

    yield start
    for process in processes:
        process.kill()
        process.wait()


async def test_a_job_of_a_killed_process_becomes_failed_with_ingest_worker_stopped(
        fresh_database, make_rag_settings, gated_backend, rag_process, tenant, watch_job):
    url = fresh_database()
    gate, _, inference_port = await gated_backend(0)  # every Embed call waits: the job stays mid-way
    doomed, port = rag_process(url, inference_port)
    await _serving(port, doomed)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.RagServiceStub(channel)
        await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="c"))
        job = (await stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant, collection_id="c", documents=DOCUMENTS))).job
    await gate.held.wait()  # the doomed process runs the job (no other replica existed to take it)
    survivor = RagServer(make_rag_settings(url, inference_port, job_lease_seconds=LEASE,
                                           job_reap_interval_seconds=0.2))
    await survivor.start()
    try:
        await asyncio.sleep(2 * LEASE)  # the dying process renewed its lease meanwhile

        async with grpc.aio.insecure_channel(f"127.0.0.1:{survivor.port}") as channel:
            stub = pb_grpc.RagServiceStub(channel)
            still = (await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job
            assert still.state == pb.INGEST_JOB_STATE_RUNNING

            orphans = _children(doomed.pid)  # its preparer worker (and multiprocessing's tracker)
            assert orphans
            doomed.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            final = await asyncio.wait_for(watch_job(stub, tenant, job.job_id), 30)
            assert time.monotonic() - killed_at < LEASE + 5
            assert final.state == pb.INGEST_JOB_STATE_FAILED
            assert final.error.startswith("ingest worker stopped")
            assert final.documents_failed == len(DOCUMENTS)
            [collection] = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
            assert collection.document_count == 0
        assert await stored_inputs(url, job.job_id) == 0  # its queued documents went with it
        while any(Path(f"/proc/{pid}").exists() for pid in orphans):  # the killed service's workers end too
            assert time.monotonic() - killed_at < 60, f"workers of the killed service still run: {orphans}"
            await asyncio.sleep(0.2)
    finally:
        await survivor.stop()



async def test_a_job_whose_lease_ran_out_while_no_replica_ran_fails_when_one_starts(
        fresh_database, make_rag_settings, inference_server, tenant):
    url = fresh_database()
    db = await Database.open(url)
    try:
        collection = await CollectionStore(db).create(tenant, "c", "all-minilm-l6-v2", 384, "")
        # What a replica that died mid-job left: the job claimed, its documents still stored.
        job = await JobStore(db).create(tenant, collection.id, "c", [b"{}"] * 3, 3, 30, "all-minilm-l6-v2")
        assert (await JobStore(db).claim_next(lease_seconds=60)).id == job.id
        async with db.pool.connection() as conn:
            await conn.execute("UPDATE ingest_jobs SET lease_expires_at = now() - interval '1 minute' WHERE id = %s",
                               (job.id,))
        # A sweep only at start-up: the long interval means no periodic sweep can be what failed it.
        rag = RagServer(make_rag_settings(url, inference_server.port, job_reap_interval_seconds=3600))
        await rag.start()
        try:
            found = await JobStore(db).get(tenant, job.id)
        finally:
            await rag.stop()
    finally:
        await db.close()
    assert found.state == "FAILED"
    assert found.error.startswith("ingest worker stopped")
    assert await stored_inputs(url, job.id) == 0


async def test_a_live_job_keeps_its_lease_for_many_lease_periods_and_succeeds(gated_rag, tenant, watch_job):
    async with gated_rag(0, job_lease_seconds=0.5, job_reap_interval_seconds=0.1) as rag:
        job = await rag.start_ingest(tenant, DOCUMENTS)
        await rag.gate.held.wait()
        await asyncio.sleep(2.0)  # four lease periods with Embed stuck
        rag.gate.let_through(len(DOCUMENTS))
        final = await watch_job(rag.stub, tenant, job.job_id)
    assert final.state == pb.INGEST_JOB_STATE_SUCCEEDED, final.error


async def test_a_job_declared_dead_meanwhile_stays_failed_and_stores_nothing(gated_rag, tenant, watch_job):
    """A process that stalled past its lease (not dead after all) must not commit the job
    another replica already reported FAILED."""
    async with gated_rag(0, job_reap_interval_seconds=3600) as rag:
        job = await rag.start_ingest(tenant, DOCUMENTS)
        await rag.gate.held.wait()
        async with rag.server.db.pool.connection() as conn:  # what another replica's sweep finds
            await conn.execute("UPDATE ingest_jobs SET lease_expires_at = now() - interval '1 second' "
                               "WHERE id = %s", (job.job_id,))
        assert await JobStore(rag.server.db).fail_abandoned() == [job.job_id]
        rag.gate.let_through(len(DOCUMENTS))
        final = await watch_job(rag.stub, tenant, job.job_id)
        await asyncio.sleep(0.5)  # room for the worker to (wrongly) commit
        again = (await rag.stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))).job
        [collection] = (await rag.stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    assert final.state == again.state == pb.INGEST_JOB_STATE_FAILED
    assert again.error.startswith("ingest worker stopped")
    assert collection.document_count == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found

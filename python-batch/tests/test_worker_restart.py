"""A worker killed in the middle of a batch (SIGKILL: no clean shutdown, offsets of its
round uncommitted) and started again: every line ends up in the output exactly once."""
import asyncio
import os
import signal
import subprocess
import sys
import uuid

import grpc
import pytest_asyncio
from conftest import all_results, batch_settings, chat_line, wait_final
from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu.jobs.v1 import jobs_pb2_grpc as pb_grpc

from tianshu_batch.server import BatchServer


@pytest_asyncio.fixture
async def isolated(pg_url, kafka_bootstrap, inference_server, tmp_path):
    """An API-only server on topics and a consumer group of its own, and a way to start
    worker processes for them."""
    suffix = uuid.uuid4().hex[:8]
    overrides = dict(topic_prefix=f"restart-{suffix}.", consumer_group=f"restart-{suffix}")
    settings = batch_settings(pg_url, kafka_bootstrap, inference_server.port, run_worker=False, **overrides)
    server = BatchServer(settings)
    await server.start()
    env = {**os.environ, "TIANSHU_BATCH_RUN_API": "false", "TIANSHU_BATCH_PORT": "0",
           "TIANSHU_BATCH_METRICS_PORT": "0", "TIANSHU_BATCH_DATABASE_URL": pg_url,
           "TIANSHU_BATCH_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "TIANSHU_BATCH_INFERENCE_TARGET": settings.inference_target,
           "TIANSHU_BATCH_TOPIC_PREFIX": settings.topic_prefix, "TIANSHU_BATCH_CONSUMER_GROUP": settings.consumer_group,
           "TIANSHU_BATCH_ITEM_PARTITIONS": str(settings.item_partitions),
           "TIANSHU_BATCH_WORKER_CONCURRENCY": str(settings.worker_concurrency)}
    workers = []

    def start_worker() -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(workers)}.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "tianshu_batch"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        workers.append(worker)
        return worker

    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.JobsServiceStub(channel), start_worker
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
    await server.stop()


async def test_a_worker_killed_mid_batch_and_restarted_leaves_every_line_exactly_once(isolated, tenant):
    stub, start_worker = isolated
    lines = [chat_line(f"r{i}", f"Name an animal that starts with the letter {chr(65 + i % 26)}.", max_tokens=24)
             for i in range(30)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=pb.ENDPOINT_CHAT_COMPLETIONS, lines=lines))).batch
    first = start_worker()
    while True:
        progress = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))).batch
        if progress.request_counts.completed >= 3:
            break
        assert first.poll() is None, "the worker exited on its own"
        await asyncio.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))).batch
    assert killed_at.request_counts.completed < 30, "the batch finished before the kill; make it longer"

    start_worker()
    batch = await wait_final(stub, tenant, created.batch_id)

    assert batch.status == pb.BATCH_STATUS_COMPLETED
    assert (batch.request_counts.completed, batch.request_counts.failed) == (30, 0)
    output = await all_results(stub, tenant, batch.batch_id, pb.RESULT_KIND_OUTPUT)
    assert [r.custom_id for r in output] == [f"r{i}" for i in range(30)]
    assert batch.usage.total_tokens == sum(r.usage.total_tokens for r in output)

"""The suite's fixtures, over the shared ones (tianshu_testing: a real embedded PostgreSQL, a
real inference server started in-process, vLLM on CPU, 60-120 s; a channel and `stub` on the
server under test; a fresh tenant per test). Unit tests use none of the servers. Integration
tests get, once per session, a real Kafka broker (KRaft, started by scripts/localstack.py from
the jars bootstrap cached) and the batch server with its worker on free ports."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu.jobs.v1 import jobs_pb2_grpc as pb_grpc
from tianshu_testing.service import ServiceUnderTest, metric_value, scrape

from tianshu_batch.server import BatchServer
from tianshu_batch.settings import BatchSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import localstack  # noqa: E402

pytest_plugins = ["tianshu_testing.plugin"]

CHAT_MODEL = "smollm2-135m-instruct"
WEBHOOK_SECRET = "webhook-secret-of-the-tests"
FINAL = {pb.BATCH_STATUS_COMPLETED, pb.BATCH_STATUS_FAILED, pb.BATCH_STATUS_CANCELLED, pb.BATCH_STATUS_EXPIRED}


@pytest.fixture(scope="session")
def kafka_bootstrap():
    stack = localstack.Stack(log_dir=Path(tempfile.mkdtemp(prefix="tianshu-batch-test-")),
                             kafka_port=localstack.free_port(), kafka_controller_port=localstack.free_port())
    try:
        stack.wait_kafka(stack.start_kafka())
        yield stack.kafka_bootstrap
    finally:
        stack.stop_all()


def batch_settings(pg_url: str, kafka: str, inference_port: int, **overrides) -> BatchSettings:
    values = dict(port=0, metrics_port=0, database_url=pg_url, kafka_bootstrap_servers=kafka,
                  inference_target=f"127.0.0.1:{inference_port}", item_partitions=4, worker_concurrency=4,
                  retry_base_seconds=0.05, expiry_sweep_seconds=0.5, shutdown_grace_seconds=1,
                  webhook_secret=WEBHOOK_SECRET, webhook_max_attempts=5, webhook_retry_base_seconds=0.05,
                  webhook_retry_max_seconds=0.2, webhook_timeout_seconds=1, webhook_poll_seconds=0.1)
    values.update(overrides)
    return BatchSettings(**values)


@pytest_asyncio.fixture(scope="session")
async def batch_server(pg_url, kafka_bootstrap, inference_server):
    server = BatchServer(batch_settings(pg_url, kafka_bootstrap, inference_server.port))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def service_under_test(batch_server) -> ServiceUnderTest:
    return ServiceUnderTest(batch_server.port, pb_grpc.JobsServiceStub)


async def wait_final(stub, tenant_id: str, batch_id: str, timeout: float = 600) -> pb.Batch:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        batch = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant_id, batch_id=batch_id))).batch
        if batch.status in FINAL:
            return batch
        assert asyncio.get_running_loop().time() < deadline, f"batch still {batch.status}: {batch}"
        await asyncio.sleep(0.2)


async def all_results(stub, tenant_id: str, batch_id: str, kind: int) -> list[pb.BatchItemResult]:
    results, token = [], ""
    while True:
        page = await stub.GetBatchResults(pb.GetBatchResultsRequest(
            tenant_id=tenant_id, batch_id=batch_id, kind=kind, page_size=3, page_token=token))
        results += page.results
        token = page.next_page_token
        if not token:
            return results


async def read_to_end(stub, after: int) -> list[pb.UsageRecord]:
    """The usage ledger from the record after `after` to its end."""
    records = []
    while True:
        page = (await stub.ListUsage(pb.ListUsageRequest(after_sequence=after, page_size=200))).records
        records += page
        if len(page) < 200:
            return records
        after = page[-1].sequence


async def ledger_of(stub, batch_id: str, expected: int) -> list[pb.UsageRecord]:
    """The ledger records of one batch, once at least `expected` of them are visible."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        mine = [r for r in await read_to_end(stub, 0) if r.batch_id == batch_id]
        if len(mine) >= expected:
            return mine
        assert asyncio.get_running_loop().time() < deadline, f"{len(mine)} of {expected} records"
        await asyncio.sleep(0.2)


@dataclass
class Isolated:
    """An API-only batch server on topics and a consumer group of its own, and a way to start
    worker processes for them (each a real `python -m tianshu_batch` with the API off)."""
    stub: pb_grpc.JobsServiceStub
    settings: BatchSettings
    start_worker: Callable[..., subprocess.Popen]


@pytest_asyncio.fixture
async def isolated(pg_url, kafka_bootstrap, inference_server, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    settings = batch_settings(pg_url, kafka_bootstrap, inference_server.port, run_worker=False,
                              topic_prefix=f"isolated-{suffix}.", consumer_group=f"isolated-{suffix}")
    server = BatchServer(settings)
    await server.start()
    env = {**os.environ, "TIANSHU_BATCH_RUN_API": "false", "TIANSHU_BATCH_PORT": "0",
           "TIANSHU_BATCH_METRICS_PORT": "0", "TIANSHU_BATCH_DATABASE_URL": pg_url,
           "TIANSHU_BATCH_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "TIANSHU_BATCH_INFERENCE_TARGET": settings.inference_target,
           "TIANSHU_BATCH_TOPIC_PREFIX": settings.topic_prefix, "TIANSHU_BATCH_CONSUMER_GROUP": settings.consumer_group,
           "TIANSHU_BATCH_ITEM_PARTITIONS": str(settings.item_partitions),
           "TIANSHU_BATCH_WORKER_CONCURRENCY": str(settings.worker_concurrency),
           "TIANSHU_BATCH_RETRY_BASE_SECONDS": str(settings.retry_base_seconds)}
    workers = []

    def start_worker(**overrides) -> subprocess.Popen:
        """A worker process; `overrides` are settings (metrics_port=..., max_attempts=...)."""
        log = open(tmp_path / f"worker-{len(workers)}.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "tianshu_batch"], stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True,
                                  env={**env, **{f"TIANSHU_BATCH_{k.upper()}": str(v) for k, v in overrides.items()}})
        workers.append(worker)
        return worker

    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield Isolated(pb_grpc.JobsServiceStub(channel), settings, start_worker)
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
    await server.stop()


def scraped(port: int, name: str, **labels: str) -> float:
    """One series of a process's /metrics page; 0 if it is not there (yet)."""
    return metric_value(scrape(port), name, **labels)


async def scraped_total(ports: list[int], name: str, value: float, timeout: float = 30, **labels: str) -> list[float]:
    """The series on each process's page once their sum reaches `value`. A worker counts a
    line just after recording it, so its count can trail the batch's final status a moment."""
    deadline = asyncio.get_running_loop().time() + timeout
    while sum(seen := [await asyncio.to_thread(scraped, port, name, **labels) for port in ports]) < value:
        assert asyncio.get_running_loop().time() < deadline, f"{name}{labels}: {seen}, waiting for {value} in all"
        await asyncio.sleep(0.1)
    return seen

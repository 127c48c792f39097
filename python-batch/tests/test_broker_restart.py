"""The Kafka broker stopped in the middle of a batch (SIGTERM: a clean shutdown; SIGKILL: a
crash) and started again on the same port and data: the worker and the producer reconnect on their own, every
line ends up in the output or the errors exactly once, and a CreateBatch during the outage
answers UNAVAILABLE (leaving nothing behind) instead of hanging. Runs on a broker of its own,
so that the other tests' broker is never disturbed."""
import asyncio
import signal
import sys
import tempfile
import uuid
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from conftest import all_results, batch_settings, wait_final
from typed_lines import chat_line
from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu.jobs.v1 import jobs_pb2_grpc as pb_grpc

from tianshu_batch.server import BatchServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import localstack  # noqa: E402

CHAT = pb.ENDPOINT_CHAT_COMPLETIONS


@pytest_asyncio.fixture
async def own_broker_service(pg_url, inference_server):
    stack = localstack.Stack(log_dir=Path(tempfile.mkdtemp(prefix="tianshu-batch-restart-")),
                             kafka_port=localstack.free_port(), kafka_controller_port=localstack.free_port())
    server = None
    try:
        await asyncio.to_thread(lambda: stack.wait_kafka(stack.start_kafka()))
        suffix = uuid.uuid4().hex[:8]
        server = BatchServer(batch_settings(pg_url, stack.kafka_bootstrap, inference_server.port,
                                            topic_prefix=f"broker-{suffix}.", consumer_group=f"broker-{suffix}",
                                            kafka_send_timeout_seconds=5, kafka_reconnect_backoff_max_seconds=1))
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield stack, pb_grpc.JobsServiceStub(channel)
    finally:
        try:
            if server:
                await server.stop()
        finally:  # the broker is stopped even when the server's stop fails
            await asyncio.to_thread(stack.stop_all)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_broker_stopped_mid_batch_and_restarted_leaves_every_line_exactly_once(own_broker_service, tenant,
                                                                                      stop_signal):
    stack, stub = own_broker_service
    lines = [chat_line(f"k{i}", f"Name a city that starts with the letter {chr(65 + i % 26)}.", max_tokens=24)
             for i in range(30)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=lines))).batch
    while (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))
           ).batch.request_counts.completed < 3:
        await asyncio.sleep(0.1)

    await asyncio.to_thread(stack.stop_kafka, stop_signal)
    at_kill = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))).batch
    assert at_kill.request_counts.completed < 30, "the batch finished before the kill; make it longer"
    try:  # bounded by kafka_send_timeout_seconds; the deadline only keeps a regression from hanging
        during = (await stub.CreateBatch(pb.CreateBatchRequest(
            tenant_id=tenant, endpoint=CHAT, lines=[chat_line("during", "Hi")]), timeout=120)).batch
    except grpc.aio.AioRpcError as refused:
        assert refused.code() == grpc.StatusCode.UNAVAILABLE, refused
        assert "Kafka" in refused.details()
        during = None
    listed = (await stub.ListBatches(pb.ListBatchesRequest(tenant_id=tenant))).batches
    assert len(listed) == (1 if during is None else 2)  # a refused call leaves no batch behind

    await asyncio.to_thread(lambda: stack.wait_kafka(stack.restart_kafka()))
    batch = await wait_final(stub, tenant, created.batch_id)

    assert batch.status == pb.BATCH_STATUS_COMPLETED
    output = await all_results(stub, tenant, batch.batch_id, pb.RESULT_KIND_OUTPUT)
    errors = await all_results(stub, tenant, batch.batch_id, pb.RESULT_KIND_ERRORS)
    ids = [r.custom_id for r in output + errors]
    assert len(ids) == len(set(ids)) == 30
    assert batch.request_counts.completed + batch.request_counts.failed == 30
    assert batch.usage.total_tokens == sum(r.usage.total_tokens for r in output)

    after = (await stub.CreateBatch(pb.CreateBatchRequest(  # the producer is back too
        tenant_id=tenant, endpoint=CHAT, lines=[chat_line("after", "Hi", max_tokens=4)]))).batch
    assert (await wait_final(stub, tenant, after.batch_id)).status == pb.BATCH_STATUS_COMPLETED
    if during is not None:
        assert (await wait_final(stub, tenant, during.batch_id)).status == pb.BATCH_STATUS_COMPLETED

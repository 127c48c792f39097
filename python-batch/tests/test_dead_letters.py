"""Poison work reaches the dead-letter topic: a line whose inference keeps failing after its
retries, and a record on the items topic that is no BatchItem. Read back from the broker with
a consumer of its own; the worker is a real process with the inference service out of reach
(a port nothing listens on, so every call fails UNAVAILABLE, a transient failure)."""
import asyncio
import time
import uuid

import localstack
from conftest import all_results, scraped, scraped_total, wait_final
from typed_lines import chat_line
from kafka import KafkaConsumer, KafkaProducer
from tianshu.jobs.v1 import jobs_pb2 as pb

MAX_ATTEMPTS = 3


def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 60) -> list:
    """The first `count` records of a topic, read by a consumer group of its own."""
    reader = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"dlq-reader-{uuid.uuid4().hex[:8]}",
                           auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=500)
    records = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            records += list(reader)
    finally:
        reader.close()
    return records


async def test_a_line_failing_after_its_retries_is_dead_lettered_with_its_reason(isolated, tenant, kafka_bootstrap):
    metrics_port = localstack.free_port()
    isolated.start_worker(inference_target=f"127.0.0.1:{localstack.free_port()}", max_attempts=MAX_ATTEMPTS,
                          metrics_port=metrics_port)
    lines = [chat_line("doomed-1", "Hello"), chat_line("doomed-2", "Bye")]
    created = (await isolated.stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=pb.ENDPOINT_CHAT_COMPLETIONS, lines=lines))).batch
    batch = await wait_final(isolated.stub, tenant, created.batch_id, timeout=120)

    assert batch.status == pb.BATCH_STATUS_COMPLETED
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 2)
    errors = await all_results(isolated.stub, tenant, batch.batch_id, pb.RESULT_KIND_ERRORS)
    assert [(r.custom_id, r.status_code, r.error_code) for r in errors] == [
        ("doomed-1", 500, "inference_failed"), ("doomed-2", 500, "inference_failed")]
    assert all(f"failed {MAX_ATTEMPTS} times" in r.error_message and "UNAVAILABLE" in r.error_message
               for r in errors)

    topic = f"{isolated.settings.topic_prefix}dead-letter"
    records = await asyncio.to_thread(read_topic, kafka_bootstrap, topic, 2)
    by_key = {record.key: pb.BatchItem.FromString(record.value) for record in records}
    assert len(records) == 2 and set(by_key) == {f"{batch.batch_id}/doomed-{i}".encode() for i in (1, 2)}
    sent = {line.custom_id: line.generation for line in lines}
    for key, item in by_key.items():
        assert (item.batch_id, item.tenant_id, item.endpoint) == (batch.batch_id, tenant, pb.ENDPOINT_CHAT_COMPLETIONS)
        assert key.endswith(item.custom_id.encode()) and item.generation == sent[item.custom_id]
        assert item.attempt == MAX_ATTEMPTS and item.error.startswith("UNAVAILABLE")

    # Each line failed once per attempt before it was given up, and was dead-lettered once.
    assert await scraped_total([metrics_port], "tianshu_batch_lines_total", 2, outcome="failed") == [2]
    assert scraped(metrics_port, "tianshu_batch_retries_total") == 2 * MAX_ATTEMPTS
    assert scraped(metrics_port, "tianshu_batch_dead_letters_total") == 2


async def test_a_record_that_is_no_batch_item_is_dead_lettered_and_the_worker_goes_on(isolated, tenant,
                                                                                     kafka_bootstrap):
    metrics_port = localstack.free_port()
    isolated.start_worker(metrics_port=metrics_port)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    producer.send(f"{isolated.settings.topic_prefix}items", key=b"poison/1", value=b"\x07 not protobuf")
    producer.flush()
    producer.close()

    records = await asyncio.to_thread(read_topic, kafka_bootstrap, f"{isolated.settings.topic_prefix}dead-letter", 1)
    assert [record.key for record in records] == [b"poison/1"]
    dead = pb.BatchItem.FromString(records[0].value)
    assert dead.error.startswith("not a BatchItem") and not dead.batch_id

    created = (await isolated.stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=pb.ENDPOINT_CHAT_COMPLETIONS, lines=[chat_line("after", "Say hi.")]))).batch
    batch = await wait_final(isolated.stub, tenant, created.batch_id, timeout=120)
    assert (batch.status, batch.request_counts.completed) == (pb.BATCH_STATUS_COMPLETED, 1)
    assert scraped(metrics_port, "tianshu_batch_dead_letters_total") == 1

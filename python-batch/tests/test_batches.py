"""Batches end to end against the real Kafka broker, PostgreSQL and inference engine."""
import asyncio

import grpc
import pytest
from conftest import CHAT_MODEL, all_results, wait_final
from typed_lines import chat_line
from kafka import KafkaProducer
from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu.jobs.v1 import jobs_pb2 as pb

OUTPUT, ERRORS = pb.RESULT_KIND_OUTPUT, pb.RESULT_KIND_ERRORS
CHAT = pb.ENDPOINT_CHAT_COMPLETIONS


async def test_a_chat_batch_completes_with_every_line_exactly_once(stub, tenant):
    lines = [chat_line(f"q{i}", f"What is {i} plus {i}?") for i in range(6)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=lines, metadata={"job": "sums"}))).batch
    batch = await wait_final(stub, tenant, created.batch_id)

    assert batch.status == pb.BATCH_STATUS_COMPLETED
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (6, 6, 0)
    output = await all_results(stub, tenant, batch.batch_id, OUTPUT)
    assert sorted(r.custom_id for r in output) == sorted(f"q{i}" for i in range(6))
    assert [r.line_index for r in output] == list(range(6))
    for result in output:
        assert result.WhichOneof("response") == "generation" and result.generation.model == CHAT_MODEL
        assert result.generation.choices[0].text
        assert result.generation.usage.total_tokens == result.usage.total_tokens
    assert batch.usage.completion_tokens == sum(r.usage.completion_tokens for r in output) > 0
    assert batch.usage.total_tokens == sum(r.usage.total_tokens for r in output)
    assert await all_results(stub, tenant, batch.batch_id, ERRORS) == []
    history = (await stub.ListBatchTransitions(pb.ListBatchTransitionsRequest(
        tenant_id=tenant, batch_id=batch.batch_id))).transitions
    assert [t.to_status for t in history] == [pb.BATCH_STATUS_VALIDATING, pb.BATCH_STATUS_IN_PROGRESS,
                                              pb.BATCH_STATUS_FINALIZING, pb.BATCH_STATUS_COMPLETED]
    assert all(t.reason and t.at.seconds for t in history)
    assert batch.metadata["job"] == "sums" and batch.completed_at.seconds >= batch.in_progress_at.seconds


async def test_invalid_lines_go_to_the_errors_while_the_rest_run(stub, tenant):
    lines = [chat_line("good-1", "Say hi."), pb.InputLine(custom_id="no-request"),
             pb.InputLine(custom_id="wrong-kind", embedding=ipb.EmbedRequest(model=CHAT_MODEL, texts=["hi"])),
             pb.InputLine(custom_id="unknown-model", generation=ipb.Generation(
                 model="no-such-model", messages=[ipb.ChatMessage(role="user", content="hi")])),
             chat_line("good-2", "Say bye.")]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=lines))).batch
    batch = await wait_final(stub, tenant, created.batch_id)

    assert batch.status == pb.BATCH_STATUS_COMPLETED
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 3)
    assert [r.custom_id for r in await all_results(stub, tenant, batch.batch_id, OUTPUT)] == ["good-1", "good-2"]
    page = await stub.GetBatchResults(pb.GetBatchResultsRequest(tenant_id=tenant, batch_id=batch.batch_id,
                                                                kind=ERRORS))
    assert [r.custom_id for r in page.results] == ["no-request", "wrong-kind", "unknown-model"]
    assert [(r.status_code, r.error_code) for r in page.results] == [
        (400, "invalid_request"), (400, "invalid_request"), (404, "model_not_found")]
    assert "carries no request" in page.results[0].error_message
    assert "EmbedRequest" in page.results[1].error_message
    assert all(r.WhichOneof("response") is None for r in page.results)


async def test_every_option_of_a_chat_line_reaches_the_engine(stub, tenant):
    """The old JSON path dropped logprobs (and structured output, top_k, ignore_eos): a typed
    line carries whatever the gateway's chat mapper set, and the answer keeps what they produced."""
    line = chat_line("with-logprobs", "Say yes.", max_tokens=4, logprobs=2)
    line.generation.structured_output.json_object = True
    created = (await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=[line]))).batch
    batch = await wait_final(stub, tenant, created.batch_id)

    [result] = await all_results(stub, tenant, batch.batch_id, OUTPUT)
    choice = result.generation.choices[0]
    assert len(choice.logprobs) == result.generation.usage.completion_tokens > 0
    assert all(len(token.top_logprobs) == 2 for token in choice.logprobs)
    assert choice.text.lstrip().startswith("{")  # json_object: the engine was constrained to JSON


async def test_a_batch_with_no_valid_line_fails(stub, tenant):
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=[pb.InputLine(custom_id="x")]))).batch
    assert created.status == pb.BATCH_STATUS_FAILED and created.error == "no valid line"


async def test_the_same_idempotency_key_returns_the_same_batch(stub, tenant):
    request = pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=[chat_line("a", "Hi")],
                                    idempotency_key="retry-me")
    first = (await stub.CreateBatch(request)).batch
    second = (await stub.CreateBatch(request)).batch
    assert first.batch_id == second.batch_id
    listed = (await stub.ListBatches(pb.ListBatchesRequest(tenant_id=tenant))).batches
    assert [b.batch_id for b in listed] == [first.batch_id]
    await wait_final(stub, tenant, first.batch_id)


async def test_cancel_stops_new_lines_and_keeps_finished_ones(stub, tenant, batch_server):
    concurrency = batch_server.settings.worker_concurrency
    lines = [chat_line(f"c{i}", f"Write a sentence about the number {i}.", max_tokens=48) for i in range(40)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=lines))).batch
    while True:
        progress = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))).batch
        if progress.request_counts.completed >= 1:
            break
        await asyncio.sleep(0.1)
    cancelled = (await stub.CancelBatch(pb.CancelBatchRequest(tenant_id=tenant, batch_id=created.batch_id))).batch
    assert cancelled.status in (pb.BATCH_STATUS_CANCELLING, pb.BATCH_STATUS_CANCELLED)
    done_at_cancel = cancelled.request_counts.completed
    batch = await wait_final(stub, tenant, created.batch_id)

    counts = batch.request_counts
    assert batch.status == pb.BATCH_STATUS_CANCELLED
    # Only lines already running when the cancel came may still finish.
    assert done_at_cancel <= counts.completed <= done_at_cancel + concurrency
    assert counts.completed + counts.failed + counts.skipped == 40 and counts.skipped >= 40 - 2 * concurrency - 1
    output = await all_results(stub, tenant, batch.batch_id, OUTPUT)
    assert len(output) == counts.completed == len({r.custom_id for r in output})
    assert batch.usage.total_tokens == sum(r.usage.total_tokens for r in output)  # finished lines are charged
    again = (await stub.CancelBatch(pb.CancelBatchRequest(tenant_id=tenant, batch_id=batch.batch_id))).batch
    assert again.status == pb.BATCH_STATUS_CANCELLED


async def test_a_batch_submitted_straight_to_kafka_is_visible_through_the_api(stub, tenant, batch_server,
                                                                               kafka_bootstrap):
    submission = pb.BatchSubmission(request=pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=[chat_line("k1", "Hello"), chat_line("k2", "Bye")],
        idempotency_key="kafka-1"))
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for _ in range(2):  # a redelivered submission still makes one batch
        producer.send(batch_server.publisher.topics.submissions, key=tenant.encode(),
                      value=submission.SerializeToString())
    producer.flush()
    producer.close()
    for _ in range(300):
        listed = (await stub.ListBatches(pb.ListBatchesRequest(tenant_id=tenant))).batches
        if listed:
            break
        await asyncio.sleep(0.1)
    assert len(listed) == 1
    batch = await wait_final(stub, tenant, listed[0].batch_id)
    assert batch.status == pb.BATCH_STATUS_COMPLETED and batch.request_counts.completed == 2


async def test_another_tenants_batch_is_not_found(stub, tenant):
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=[pb.InputLine(custom_id="x")]))).batch
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetBatch(pb.GetBatchRequest(tenant_id="someone-else", batch_id=created.batch_id))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_batch_without_lines_is_refused(stub, tenant):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

"""A batch whose completion window passes mid-run: the sweep makes it `expired`, every line that
had not finished gets a `batch_expired` line in the error file (OpenAI's shape), and what ran
before the expiry is kept and charged, no more: counts, usage and the usage ledger hold exactly
the finished lines, also after the lines still in the engine at the expiry have come back."""
import asyncio

import grpc
import psycopg
from conftest import all_results, ledger_of, wait_final
from typed_lines import chat_line
from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu.inference.v1 import inference_pb2_grpc as ipb_grpc
from tianshu.jobs.v1 import jobs_pb2 as pb

LINES = 30


async def engine_idle(inference_port: int, timeout: float = 300) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inference_port}") as channel:
        stub = ipb_grpc.InferenceServiceStub(channel)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            load = await stub.GetLoad(ipb.GetLoadRequest())
            if load.running_requests + load.waiting_requests == 0:
                return
            assert asyncio.get_running_loop().time() < deadline, f"engine still busy: {load}"
            await asyncio.sleep(0.1)


async def test_an_overdue_batch_expires_its_unrun_lines_and_charges_exactly_what_ran(stub, tenant, pg_url,
                                                                                    inference_server):
    lines = [chat_line(f"e{i}", f"Write a sentence about the number {i}.", max_tokens=32) for i in range(LINES)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=pb.ENDPOINT_CHAT_COMPLETIONS, lines=lines))).batch
    while (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))
           ).batch.request_counts.completed < 2:
        await asyncio.sleep(0.1)
    # The completion window is hours at least: move its end into the past instead of waiting.
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("UPDATE batches SET expires_at = now() - interval '1 second' WHERE id = %s",
                           (created.batch_id,))
    batch = await wait_final(stub, tenant, created.batch_id, timeout=60)

    counts = batch.request_counts
    assert batch.status == pb.BATCH_STATUS_EXPIRED, batch
    assert batch.expired_at.seconds >= batch.in_progress_at.seconds > 0
    assert counts.completed >= 2 and counts.failed == 0
    assert counts.skipped > 0, "every line finished before the expiry; make the batch longer"
    assert counts.completed + counts.skipped == LINES

    output = await all_results(stub, tenant, batch.batch_id, pb.RESULT_KIND_OUTPUT)
    errors = await all_results(stub, tenant, batch.batch_id, pb.RESULT_KIND_ERRORS)
    ran = {r.custom_id for r in output}
    assert len(output) == len(ran) == counts.completed
    assert len(errors) == counts.skipped
    assert ran | {e.custom_id for e in errors} == {f"e{i}" for i in range(LINES)}
    assert not ran & {e.custom_id for e in errors}
    for line in errors:  # the gateway writes these as error lines with no response (OpenAI's shape)
        assert line.outcome == pb.ITEM_OUTCOME_EXPIRED and line.status_code == 0
        assert line.WhichOneof("response") is None
        assert line.error_code == "batch_expired" and line.error_message

    history = (await stub.ListBatchTransitions(pb.ListBatchTransitionsRequest(
        tenant_id=tenant, batch_id=batch.batch_id))).transitions
    assert history[-1].to_status == pb.BATCH_STATUS_EXPIRED
    assert history[-1].reason == "completion window passed"

    # Lines that were in the engine at the expiry come back after it: they change nothing.
    await engine_idle(inference_server.port)
    await asyncio.sleep(1)  # the worker records (or drops) what the engine returned
    settled = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=batch.batch_id))).batch
    assert settled.request_counts == counts and settled.usage == batch.usage
    assert batch.usage.total_tokens == sum(r.usage.total_tokens for r in output) > 0
    assert batch.usage.prompt_tokens == sum(r.usage.prompt_tokens for r in output)
    records = await ledger_of(stub, batch.batch_id, len(output))
    assert sorted((r.custom_id, r.usage.prompt_tokens, r.usage.completion_tokens) for r in records) == \
        sorted((r.custom_id, r.usage.prompt_tokens, r.usage.completion_tokens) for r in output)

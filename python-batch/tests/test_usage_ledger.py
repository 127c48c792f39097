"""ListUsage, the ledger the gateway charges quotas from: a cursor reader never skips a
record, whatever order the writing transactions commit in, and the records of a batch add up
to its usage whatever its final status."""
import asyncio
import datetime as dt
import uuid

import grpc
import psycopg
import pytest
from conftest import all_results, ledger_of, read_to_end, wait_final
from typed_lines import chat_line
from tianshu.jobs.v1 import jobs_pb2 as pb

from tianshu_batch.storage import ledger

CHAT = pb.ENDPOINT_CHAT_COMPLETIONS


def usage(batch_id: str, custom_id: str) -> ledger.Usage:
    return ledger.Usage("ledger-test", batch_id, custom_id, "/v1/chat/completions", "m", 3, 4,
                        dt.datetime.now(dt.timezone.utc))


async def test_a_reader_does_not_pass_a_record_whose_transaction_is_still_open(stub, pg_url):
    batch_id = f"batch_ledger_{uuid.uuid4().hex[:8]}"
    start = await read_to_end(stub, 0)
    cursor = start[-1].sequence if start else 0
    async with await psycopg.AsyncConnection.connect(pg_url) as slow, \
            await psycopg.AsyncConnection.connect(pg_url) as fast:
        await ledger.record(slow, usage(batch_id, "slow"))  # opens a transaction, left open
        await ledger.record(fast, usage(batch_id, "fast"))
        await fast.commit()

        while_open = [r for r in await read_to_end(stub, cursor) if r.batch_id == batch_id]
        assert while_open == []  # "fast" committed, but "slow" is older and may still commit
        await slow.commit()

    after_commit = [r for r in await read_to_end(stub, cursor) if r.batch_id == batch_id]
    assert [r.custom_id for r in after_commit] == ["slow", "fast"]
    assert after_commit[0].sequence < after_commit[1].sequence
    assert after_commit[0].usage.total_tokens == 7 and after_commit[0].tenant_id == "ledger-test"


async def test_a_reader_never_skips_a_record_of_a_later_transaction_that_wrote_first(stub, pg_url):
    """The order that breaks a bigserial cursor, even one filtered on xid < xmin: transaction
    A takes its xid first, B second; B writes its record first (the lower serial number), A
    writes second and commits while B is still open; a reader reads in between."""
    batch_id = f"batch_ledger_{uuid.uuid4().hex[:8]}"
    start = await read_to_end(stub, 0)
    cursor = start[-1].sequence if start else 0
    seen: list[pb.UsageRecord] = []
    async with await psycopg.AsyncConnection.connect(pg_url) as a, \
            await psycopg.AsyncConnection.connect(pg_url) as b:
        await a.execute("SELECT pg_current_xact_id()")
        await b.execute("SELECT pg_current_xact_id()")
        await ledger.record(b, usage(batch_id, "b-wrote-first"))
        await ledger.record(a, usage(batch_id, "a-wrote-second"))
        await a.commit()
        for _ in range(3):
            page = await read_to_end(stub, cursor)
            seen += page
            cursor = page[-1].sequence if page else cursor
        await b.commit()
    seen += await read_to_end(stub, cursor)

    mine = [r for r in seen if r.batch_id == batch_id]
    assert sorted(r.custom_id for r in mine) == ["a-wrote-second", "b-wrote-first"]
    sequences = [r.sequence for r in seen]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)


async def test_the_records_of_a_completed_batch_add_up_to_its_usage(stub, tenant):
    lines = [chat_line(f"u{i}", f"Count to {i}.", max_tokens=8) for i in range(5)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=lines))).batch
    batch = await wait_final(stub, tenant, created.batch_id)
    assert batch.status == pb.BATCH_STATUS_COMPLETED

    records = await ledger_of(stub, batch.batch_id, 5)
    assert sorted(r.custom_id for r in records) == [f"u{i}" for i in range(5)]
    assert {(r.tenant_id, r.endpoint, r.model) for r in records} == {(tenant, CHAT, "smollm2-135m-instruct")}
    assert sum(r.usage.prompt_tokens for r in records) == batch.usage.prompt_tokens
    assert sum(r.usage.completion_tokens for r in records) == batch.usage.completion_tokens
    assert sum(r.usage.total_tokens for r in records) == batch.usage.total_tokens > 0


async def test_the_records_of_a_cancelled_batch_charge_exactly_its_finished_lines(stub, tenant):
    lines = [chat_line(f"c{i}", f"Write a sentence about the number {i}.", max_tokens=32) for i in range(24)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=lines))).batch
    while (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=created.batch_id))
           ).batch.request_counts.completed < 1:
        await asyncio.sleep(0.1)
    await stub.CancelBatch(pb.CancelBatchRequest(tenant_id=tenant, batch_id=created.batch_id))
    batch = await wait_final(stub, tenant, created.batch_id)
    assert batch.status == pb.BATCH_STATUS_CANCELLED and batch.request_counts.skipped > 0

    output = await all_results(stub, tenant, batch.batch_id, pb.RESULT_KIND_OUTPUT)
    records = await ledger_of(stub, batch.batch_id, len(output))
    assert sorted(r.custom_id for r in records) == sorted(r.custom_id for r in output)
    assert sum(r.usage.total_tokens for r in records) == batch.usage.total_tokens > 0


@pytest.mark.parametrize("request_fields", [{"page_size": 5001}, {"page_size": -1}, {"after_sequence": -1}])
async def test_a_page_size_or_cursor_out_of_range_is_refused(stub, request_fields):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ListUsage(pb.ListUsageRequest(**request_fields))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

"""A worker killed in the middle of a batch (SIGKILL: no clean shutdown, offsets of its
round uncommitted) and started again: every line ends up in the output exactly once."""
import asyncio
import os
import signal

from conftest import all_results, wait_final
from typed_lines import chat_line
from tianshu.jobs.v1 import jobs_pb2 as pb


async def test_a_worker_killed_mid_batch_and_restarted_leaves_every_line_exactly_once(isolated, tenant):
    stub, start_worker = isolated.stub, isolated.start_worker
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

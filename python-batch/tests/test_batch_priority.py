"""Batch lines reach the engine at batch priority: the inference service's own count of the
generations it admitted, by priority (it runs in this process, so its metrics are read from
the process's registry, the same figures its /metrics page serves)."""
from conftest import CHAT_MODEL, wait_final
from typed_lines import chat_line
from prometheus_client import REGISTRY
from tianshu.jobs.v1 import jobs_pb2 as pb

LINES = 5


def generations(priority: str) -> float:
    return REGISTRY.get_sample_value("tianshu_inference_generations_total",
                                     {"model": CHAT_MODEL, "priority": priority}) or 0.0


async def test_every_line_of_a_batch_is_generated_at_batch_priority(stub, tenant):
    interactive_before, batch_before = generations("interactive"), generations("batch")
    lines = [chat_line(f"p{i}", f"Say the number {i}.", max_tokens=4) for i in range(LINES)]
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=pb.ENDPOINT_CHAT_COMPLETIONS, lines=lines))).batch
    batch = await wait_final(stub, tenant, created.batch_id)

    assert batch.request_counts.completed == LINES
    assert generations("interactive") == interactive_before, "batch lines were sent as interactive calls"
    assert generations("batch") == batch_before + LINES

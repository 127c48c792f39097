"""Several workers in one consumer group share a batch: two real worker processes, both of
which run lines of the same batch (each process's own /metrics says how many), and every line
has exactly one result and one ledger record."""
import asyncio

import localstack
from conftest import all_results, ledger_of, scraped_total, wait_final
from typed_lines import chat_line
from kafka import KafkaAdminClient
from tianshu.jobs.v1 import jobs_pb2 as pb

WORKERS = 2
# Items are keyed by line, so they spread over the topic's partitions (4 in the tests), which
# the group splits between the workers: with 16 lines, the chance that all of them hash into
# one worker's half is 2 * 2**-16.
LINES = 16


def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_groups([group])[group]
    finally:
        admin.close()
    return described["group_state"], len(described["members"])


async def wait_group_stable(bootstrap: str, group: str, members: int, timeout: float = 120) -> None:
    """Until every worker has joined and the partitions are split, so that none starts alone
    and takes the whole batch before the other is in the group."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (seen := await asyncio.to_thread(group_members, bootstrap, group)) != ("Stable", members):
        assert asyncio.get_running_loop().time() < deadline, f"group {group}: {seen}"
        await asyncio.sleep(0.2)


async def test_two_workers_of_one_group_share_a_batch_and_each_line_runs_once(isolated, tenant, kafka_bootstrap):
    metrics_ports = [localstack.free_port() for _ in range(WORKERS)]
    workers = [isolated.start_worker(metrics_port=port) for port in metrics_ports]
    await wait_group_stable(kafka_bootstrap, isolated.settings.consumer_group, WORKERS)

    lines = [chat_line(f"s{i}", f"Name a colour, number {i}.", max_tokens=8) for i in range(LINES)]
    created = (await isolated.stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=pb.ENDPOINT_CHAT_COMPLETIONS, lines=lines))).batch
    batch = await wait_final(isolated.stub, tenant, created.batch_id)

    assert all(worker.poll() is None for worker in workers), "a worker exited"
    assert batch.status == pb.BATCH_STATUS_COMPLETED
    assert (batch.request_counts.completed, batch.request_counts.failed) == (LINES, 0)
    ran_by = await scraped_total(metrics_ports, "tianshu_batch_lines_total", LINES, outcome="succeeded")
    assert sum(ran_by) == LINES and all(ran > 0 for ran in ran_by), f"lines run by each worker: {ran_by}"

    output = await all_results(isolated.stub, tenant, batch.batch_id, pb.RESULT_KIND_OUTPUT)
    assert [r.custom_id for r in output] == [f"s{i}" for i in range(LINES)]
    records = await ledger_of(isolated.stub, batch.batch_id, LINES)
    assert sorted(r.custom_id for r in records) == sorted(r.custom_id for r in output)
    assert sum(r.usage.total_tokens for r in records) == batch.usage.total_tokens > 0

"""Which queued ingest job starts next: tenants take turns, each tenant's jobs in arrival order.

A free slot goes to the tenant whose last job started longest ago (a tenant that never had
one goes first), and within that tenant to its oldest queued job. One tenant's 28 uploads
therefore take every other slot at most while a second tenant waits, instead of all of them
starting before the second tenant's one upload; a tenant alone still gets every slot.

The same order gives each queued job its position (1 = starts at the next free slot), as
long as nothing new arrives. Pure logic over rows the job store reads: storage/jobs.py
claims the first job of `start_order`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class QueuedJob:
    job_id: str
    tenant_id: str
    created_at: datetime


def start_order(queued: list[QueuedJob], last_started: dict[str, datetime]) -> list[str]:
    """Job ids in the order they will start; last_started holds each tenant's latest job start."""
    by_tenant: dict[str, list[QueuedJob]] = {}
    for job in sorted(queued, key=lambda j: (j.created_at, j.job_id)):
        by_tenant.setdefault(job.tenant_id, []).append(job)
    # A tenant's turn: never started before any start, then the oldest start first; ties go to
    # the tenant whose oldest queued job arrived first.
    turns = sorted(by_tenant, key=lambda t: (t in last_started, last_started.get(t, datetime.min),
                                             by_tenant[t][0].created_at, t))
    order: list[str] = []
    round_index = 0
    while len(order) < len(queued):
        for tenant in turns:
            jobs = by_tenant[tenant]
            if round_index < len(jobs):
                order.append(jobs[round_index].job_id)
        round_index += 1
    return order


def positions(queued: list[QueuedJob], last_started: dict[str, datetime]) -> dict[str, int]:
    """Each queued job's place in the start order, from 1."""
    return {job_id: i + 1 for i, job_id in enumerate(start_order(queued, last_started))}

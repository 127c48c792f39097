"""The order queued ingest jobs start in (ingestion/job_queue.py), without a database."""
from __future__ import annotations

from datetime import datetime, timedelta

from tianshu_rag.ingestion.job_queue import QueuedJob, positions, start_order

T0 = datetime(2026, 12, 5, 12, 0, 0)


def _jobs(tenant: str, count: int, first_minute: int) -> list[QueuedJob]:
    return [QueuedJob(f"{tenant}{i}", tenant, T0 + timedelta(minutes=first_minute + i)) for i in range(count)]


def test_a_tenant_alone_runs_in_arrival_order():
    assert start_order(_jobs("a", 3, 0)[::-1], {}) == ["a0", "a1", "a2"]


def test_a_later_tenant_does_not_wait_for_all_of_an_earlier_tenants_uploads():
    big = _jobs("big", 28, 0)
    small = _jobs("small", 1, 30)
    # The big tenant's first jobs are running: it started one a minute ago.
    order = start_order(big[2:] + small, {"big": T0 + timedelta(minutes=29)})
    assert order[0] == "small0"
    assert order[1:] == [j.job_id for j in big[2:]]


def test_tenants_alternate_and_the_one_served_longest_ago_goes_first():
    a, b, c = _jobs("a", 2, 0), _jobs("b", 3, 1), _jobs("c", 1, 2)
    started = {"a": T0 + timedelta(minutes=10), "b": T0 + timedelta(minutes=5)}
    # c never started a job, b started one longer ago than a.
    assert start_order(a + b + c, started) == ["c0", "b0", "a0", "b1", "a1", "b2"]


def test_positions_count_from_one_in_start_order():
    a, b = _jobs("a", 2, 0), _jobs("b", 1, 1)
    assert positions(a + b, {"a": T0}) == {"b0": 1, "a0": 2, "a1": 3}
    assert positions([], {}) == {}

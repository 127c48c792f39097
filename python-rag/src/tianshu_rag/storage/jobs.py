"""Ingest jobs and their progress, kept in the database so that any replica can report them."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from ..errors import NotFound
from .database import Database

RUNNING, SUCCEEDED, FAILED = "RUNNING", "SUCCEEDED", "FAILED"
WORKER_STOPPED = ("ingest worker stopped before the job finished (its lease ran out without a heartbeat); "
                  "nothing of the job was stored: ingest the documents again")


class LeaseLost(Exception):
    """The job is no longer RUNNING: another replica declared its worker dead."""


@dataclass(frozen=True)
class IngestJob:
    id: str
    tenant_id: str
    collection_name: str
    state: str
    documents_total: int
    documents_done: int
    documents_skipped: int
    documents_failed: int
    chunks_total: int
    chunks_done: int
    error: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def finished(self) -> bool:
        return self.state != RUNNING


_COLUMNS = ("id::text AS id, tenant_id, collection_name, state, documents_total, documents_done, "
            "documents_skipped, documents_failed, chunks_total, chunks_done, error, created_at, updated_at")


class JobStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, tenant_id: str, collection_id: int, collection_name: str, documents_total: int,
                     chunks_total: int, lease_seconds: float) -> IngestJob:
        job_id = uuid.uuid4()
        async with self._db.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO ingest_jobs (id, tenant_id, collection_id, collection_name, state, documents_total, "
                "chunks_total, lease_expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                "now() + make_interval(secs => %s))",
                (job_id, tenant_id, collection_id, collection_name, RUNNING, documents_total, chunks_total,
                 lease_seconds))
        return await self.get(tenant_id, str(job_id))

    async def get(self, tenant_id: str, job_id: str) -> IngestJob:
        try:
            parsed = uuid.UUID(job_id)
        except ValueError:
            raise NotFound("ingest job", job_id) from None
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(IngestJob))
            await cur.execute(f"SELECT {_COLUMNS} FROM ingest_jobs WHERE tenant_id = %s AND id = %s",
                              (tenant_id, parsed))
            job = await cur.fetchone()
        if job is None:
            raise NotFound("ingest job", job_id)
        return job

    async def progress(self, job_id: str, *, documents_done: int, documents_skipped: int, chunks_total: int,
                       chunks_done: int) -> None:
        async with self._db.pool.connection() as conn:
            await conn.execute(
                "UPDATE ingest_jobs SET documents_done = %s, documents_skipped = %s, chunks_total = %s, "
                "chunks_done = %s, updated_at = now() WHERE id = %s AND state = %s",
                (documents_done, documents_skipped, chunks_total, chunks_done, job_id, RUNNING))

    async def renew(self, job_id: str, lease_seconds: float) -> None:
        """Extends a running job's lease; LeaseLost if the job is no longer RUNNING."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE ingest_jobs SET lease_expires_at = now() + make_interval(secs => %s) "
                "WHERE id = %s AND state = %s", (lease_seconds, job_id, RUNNING))
            if cur.rowcount == 0:
                raise LeaseLost(job_id)

    async def fail_abandoned(self) -> list[str]:
        """Marks FAILED every RUNNING job whose lease ran out; returns their ids."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE ingest_jobs SET state = %s, error = %s, documents_failed = documents_total - documents_skipped, "
                "updated_at = now() WHERE state = %s AND lease_expires_at < now() RETURNING id::text",
                (FAILED, WORKER_STOPPED, RUNNING))
            return [row[0] for row in await cur.fetchall()]

    @staticmethod
    async def succeed(conn: psycopg.AsyncConnection, job_id: str, documents_done: int) -> None:
        """Marks success on the connection of the transaction that stores the documents, so
        the job reads SUCCEEDED exactly when its documents become visible. LeaseLost (and so
        a rollback) if the job was declared dead meanwhile: a FAILED job stays FAILED."""
        cur = await conn.execute("UPDATE ingest_jobs SET state = %s, documents_done = %s, updated_at = now() "
                                 "WHERE id = %s AND state = %s", (SUCCEEDED, documents_done, job_id, RUNNING))
        if cur.rowcount == 0:
            raise LeaseLost(job_id)

    async def fail(self, job_id: str, error: str) -> None:
        async with self._db.pool.connection() as conn:
            await conn.execute(
                "UPDATE ingest_jobs SET state = %s, error = %s, documents_failed = documents_total - documents_skipped, "
                "updated_at = now() WHERE id = %s AND state = %s", (FAILED, error[:2000], job_id, RUNNING))

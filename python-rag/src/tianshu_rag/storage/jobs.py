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


def collection_deleted(collection_name: str) -> str:
    """The error of a job whose collection was deleted while it ran."""
    return f"collection {collection_name!r} was deleted while the job ran; nothing of the job was stored"


class JobNotRunning(Exception):
    """The job is no longer RUNNING: another replica declared its worker dead, or its
    collection was deleted. Its worker drops the work: a FAILED job never turns SUCCEEDED."""


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


# How any job ends FAILED (with the state and the error as its two parameters): every document
# not skipped counts as failed, since nothing of the job was stored.
_FAIL = "state = %s, error = %s, documents_failed = documents_total - documents_skipped, updated_at = now()"

_COLUMNS = ("id::text AS id, tenant_id, collection_name, state, documents_total, documents_done, "
            "documents_skipped, documents_failed, chunks_total, chunks_done, error, created_at, updated_at")


class JobStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, tenant_id: str, collection_id: int, collection_name: str, documents_total: int,
                     chunks_total: int, lease_seconds: float) -> IngestJob:
        """NOT_FOUND if the collection was deleted since the caller read it (the upload and
        the delete raced): the foreign key refuses the job, and waits for a delete still in
        flight to commit or roll back before it does."""
        job_id = uuid.uuid4()
        async with self._db.pool.connection() as conn:
            try:
                await conn.execute(
                    "INSERT INTO ingest_jobs (id, tenant_id, collection_id, collection_name, state, documents_total, "
                    "chunks_total, lease_expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                    "now() + make_interval(secs => %s))",
                    (job_id, tenant_id, collection_id, collection_name, RUNNING, documents_total, chunks_total,
                     lease_seconds))
            except psycopg.errors.ForeignKeyViolation:
                raise NotFound("collection", collection_name) from None
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
        """JobNotRunning if the job ended meanwhile, so its worker stops embedding for nothing."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE ingest_jobs SET documents_done = %s, documents_skipped = %s, chunks_total = %s, "
                "chunks_done = %s, updated_at = now() WHERE id = %s AND state = %s",
                (documents_done, documents_skipped, chunks_total, chunks_done, job_id, RUNNING))
            if cur.rowcount == 0:
                raise JobNotRunning(job_id)

    async def renew(self, job_id: str, lease_seconds: float) -> None:
        """Extends a running job's lease; JobNotRunning if the job is no longer RUNNING."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE ingest_jobs SET lease_expires_at = now() + make_interval(secs => %s) "
                "WHERE id = %s AND state = %s", (lease_seconds, job_id, RUNNING))
            if cur.rowcount == 0:
                raise JobNotRunning(job_id)

    async def fail_abandoned(self) -> list[str]:
        """Marks FAILED every RUNNING job whose lease ran out; returns their ids."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                f"UPDATE ingest_jobs SET {_FAIL} WHERE state = %s AND lease_expires_at < now() RETURNING id::text",
                (FAILED, WORKER_STOPPED, RUNNING))
            return [row[0] for row in await cur.fetchall()]

    @staticmethod
    async def succeed(conn: psycopg.AsyncConnection, job_id: str, documents_done: int) -> None:
        """Marks success on the connection of the transaction that stores the documents, so
        the job reads SUCCEEDED exactly when its documents become visible. JobNotRunning (and
        so a rollback) if the job failed meanwhile: a FAILED job stays FAILED."""
        cur = await conn.execute("UPDATE ingest_jobs SET state = %s, documents_done = %s, updated_at = now() "
                                 "WHERE id = %s AND state = %s", (SUCCEEDED, documents_done, job_id, RUNNING))
        if cur.rowcount == 0:
            raise JobNotRunning(job_id)

    @staticmethod
    async def fail_running_in(conn: psycopg.AsyncConnection, collection_id: int, collection_name: str) -> None:
        """Marks FAILED the running jobs of a collection, in the transaction that deletes it
        (after it locked the collection's row): watchers see why their job ended, and a
        worker still embedding for it stops at its next progress update."""
        await conn.execute(f"UPDATE ingest_jobs SET {_FAIL} WHERE collection_id = %s AND state = %s",
                           (FAILED, collection_deleted(collection_name), collection_id, RUNNING))

    async def fail(self, job_id: str, error: str) -> None:
        async with self._db.pool.connection() as conn:
            await conn.execute(f"UPDATE ingest_jobs SET {_FAIL} WHERE id = %s AND state = %s",
                               (FAILED, error[:2000], job_id, RUNNING))

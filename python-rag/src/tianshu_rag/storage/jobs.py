"""Ingest jobs, their progress and the queue of jobs waiting to start, kept in the database so
that any replica can report them and run them."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from ..errors import NotFound
from ..ingestion.job_queue import QueuedJob, positions, start_order
from .database import ROWS_PER_YIELD, Database

QUEUED, RUNNING, SUCCEEDED, FAILED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"
WORKER_STOPPED = ("ingest worker stopped before the job finished (its lease ran out without a heartbeat); "
                  "nothing of the job was stored: ingest the documents again")


def collection_deleted(collection_name: str) -> str:
    """The error of a job whose collection was deleted before it finished."""
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
    embedding_tokens: int
    embedding_model: str
    error: str
    created_at: dt.datetime
    updated_at: dt.datetime
    # While QUEUED: place in the start order (1 = next); computed on read, 0 otherwise.
    queue_position: int = 0

    @property
    def finished(self) -> bool:
        return self.state not in (QUEUED, RUNNING)


@dataclass(frozen=True)
class ClaimedJob:
    """A job this process has just moved from QUEUED to RUNNING, with what it needs to run it."""
    id: str
    tenant_id: str
    collection_id: int | None
    collection_name: str
    # As counted when the job was created (every chunk), for a return to the queue.
    chunks_total: int
    inputs: list[bytes]


# How any job ends FAILED (with the state and the error as its two parameters): every document
# not skipped counts as failed, since nothing of the job was stored.
_FAIL = "state = %s, error = %s, documents_failed = documents_total - documents_skipped, updated_at = now()"

_COLUMNS = ("id::text AS id, tenant_id, collection_name, state, documents_total, documents_done, "
            "documents_skipped, documents_failed, chunks_total, chunks_done, embedding_tokens, embedding_model, "
            "error, created_at, updated_at")

# Every queued job with its tenant's latest job start, in one statement (one snapshot).
_QUEUE = ("SELECT q.id::text, q.tenant_id, q.created_at, (SELECT max(s.started_at) FROM ingest_jobs s "
          "WHERE s.tenant_id = q.tenant_id AND s.started_at IS NOT NULL) FROM ingest_jobs q WHERE q.state = %s")


async def _queue(conn: psycopg.AsyncConnection) -> tuple[list[QueuedJob], dict[str, dt.datetime]]:
    cur = await conn.execute(_QUEUE, (QUEUED,))
    rows = await cur.fetchall()
    return ([QueuedJob(job_id, tenant, created) for job_id, tenant, created, _ in rows],
            {tenant: started for _, tenant, _, started in rows if started is not None})


async def _fail_where(conn: psycopg.AsyncConnection, error: str, condition: str, params: tuple) -> list[str]:
    """Fails the unfinished jobs that match condition and drops their stored documents, in
    one statement; returns their ids."""
    cur = await conn.execute(
        f"WITH failed AS (UPDATE ingest_jobs SET {_FAIL} WHERE {condition} RETURNING id), "
        "dropped AS (DELETE FROM ingest_job_inputs WHERE job_id IN (SELECT id FROM failed)) "
        "SELECT id::text FROM failed", (FAILED, error[:2000], *params))
    return [row[0] for row in await cur.fetchall()]


class JobStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, tenant_id: str, collection_id: int, collection_name: str, inputs: Sequence[bytes],
                     chunks_total: int, embedding_tokens: int, embedding_model: str) -> IngestJob:
        """A QUEUED job and its prepared documents (job_inputs.py), in one transaction.
        NOT_FOUND if the collection was deleted since the caller read it (the upload and the
        delete raced): the foreign key refuses the job, and waits for a delete still in flight
        to commit or roll back before it does."""
        job_id = uuid.uuid4()
        async with self._db.pool.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO ingest_jobs (id, tenant_id, collection_id, collection_name, state, "
                        "documents_total, chunks_total, embedding_tokens, embedding_model) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (job_id, tenant_id, collection_id, collection_name, QUEUED, len(inputs), chunks_total,
                         embedding_tokens, embedding_model))
                    async with conn.cursor().copy("COPY ingest_job_inputs (job_id, position, document) "
                                                  "FROM STDIN WITH (FORMAT BINARY)") as copy:
                        copy.set_types(["uuid", "int4", "bytea"])
                        for position, document in enumerate(inputs):
                            await copy.write_row((job_id, position, document))
                            if position % ROWS_PER_YIELD == ROWS_PER_YIELD - 1:
                                await asyncio.sleep(0)
            except psycopg.errors.ForeignKeyViolation:
                raise NotFound("collection", collection_name) from None
        return await self.get(tenant_id, str(job_id))

    async def get(self, tenant_id: str, job_id: str) -> IngestJob:
        """The job; a queued one with its place in the queue, read in the same snapshot."""
        try:
            parsed = uuid.UUID(job_id)
        except ValueError:
            raise NotFound("ingest job", job_id) from None
        async with self._db.pool.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur = conn.cursor(row_factory=class_row(IngestJob))
            await cur.execute(f"SELECT {_COLUMNS} FROM ingest_jobs WHERE tenant_id = %s AND id = %s",
                              (tenant_id, parsed))
            job = await cur.fetchone()
            if job is not None and job.state == QUEUED:
                job = dataclasses.replace(job, queue_position=positions(*await _queue(conn))[job.id])
        if job is None:
            raise NotFound("ingest job", job_id)
        return job

    async def claim_next(self, lease_seconds: float) -> ClaimedJob | None:
        """Moves the first job of the start order (job_queue.py) from QUEUED to RUNNING, with a
        lease, and reads its documents; None if nothing is queued. Another replica may claim
        the same job first: then the queue is read again."""
        while True:
            async with self._db.pool.connection() as conn:
                queued, last_started = await _queue(conn)
                if not queued:
                    return None
                first = start_order(queued, last_started)[0]
                cur = await conn.execute(
                    "UPDATE ingest_jobs SET state = %s, started_at = now(), updated_at = now(), "
                    "lease_expires_at = now() + make_interval(secs => %s) WHERE id = %s AND state = %s "
                    "RETURNING tenant_id, collection_id, collection_name, chunks_total", (RUNNING, lease_seconds, first, QUEUED))
                claimed = await cur.fetchone()
                if claimed is None:
                    continue
                # Read under the claim's row lock: a collection delete waits for it, then fails
                # the job as RUNNING; its documents are read either way.
                cur = await conn.execute("SELECT document FROM ingest_job_inputs WHERE job_id = %s ORDER BY position",
                                         (first,))
                inputs = [row[0] for row in await cur.fetchall()]
            return ClaimedJob(first, *claimed, inputs)

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

    async def requeue(self, job_id: str, chunks_total: int) -> bool:
        """Puts a job this process runs back in the queue, progress reset and its documents
        kept (the service is stopping: another replica, or this one restarted, runs it from
        the start); False if it is no longer RUNNING (it ended meanwhile)."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE ingest_jobs SET state = %s, started_at = NULL, documents_done = 0, documents_skipped = 0, "
                "chunks_total = %s, chunks_done = 0, updated_at = now() WHERE id = %s AND state = %s",
                (QUEUED, chunks_total, job_id, RUNNING))
            return cur.rowcount == 1

    async def fail_abandoned(self) -> list[str]:
        """Marks FAILED every RUNNING job whose lease ran out; returns their ids."""
        async with self._db.pool.connection() as conn:
            return await _fail_where(conn, WORKER_STOPPED, "state = %s AND lease_expires_at < now()", (RUNNING,))

    @staticmethod
    async def succeed(conn: psycopg.AsyncConnection, job_id: str, documents_done: int) -> None:
        """Marks success on the connection of the transaction that stores the documents, so
        the job reads SUCCEEDED exactly when its documents become visible, and drops the
        job's stored input with it. JobNotRunning (and so a rollback) if the job failed
        meanwhile: a FAILED job stays FAILED."""
        cur = await conn.execute("UPDATE ingest_jobs SET state = %s, documents_done = %s, updated_at = now() "
                                 "WHERE id = %s AND state = %s", (SUCCEEDED, documents_done, job_id, RUNNING))
        if cur.rowcount == 0:
            raise JobNotRunning(job_id)
        await conn.execute("DELETE FROM ingest_job_inputs WHERE job_id = %s", (job_id,))

    @staticmethod
    async def fail_unfinished_in(conn: psycopg.AsyncConnection, collection_id: int, collection_name: str) -> None:
        """Marks FAILED the queued and running jobs of a collection and drops their stored
        documents, in the transaction that deletes it (after it locked the collection's row):
        watchers see why their job ended, a queued job never starts, and a worker still
        embedding for one stops at its next progress update."""
        await _fail_where(conn, collection_deleted(collection_name), "collection_id = %s AND state IN (%s, %s)",
                          (collection_id, QUEUED, RUNNING))

    async def fail(self, job_id: str, error: str) -> None:
        async with self._db.pool.connection() as conn:
            await _fail_where(conn, error, "id = %s AND state = %s", (job_id, RUNNING))

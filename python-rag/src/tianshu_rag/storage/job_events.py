"""Ingest job changes as they commit, from PostgreSQL LISTEN/NOTIFY (the trigger of
migration 0003), and watching one job with them.

One connection per process listens, outside the pool (a pooled connection would stop
listening once returned) and wakes the watchers of the job named in each notification.
Watchers also re-read at a long fallback interval, which covers notifications lost while
the listening connection was down; after reconnecting it wakes every watcher once."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import psycopg

from .jobs import IngestJob, JobStore

log = logging.getLogger(__name__)

CHANNEL = "ingest_job"
# Pause before reconnecting a dropped listening connection.
_RECONNECT_SECONDS = 1.0


class JobEvents:
    def __init__(self, url: str):
        self._url = url
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._listening = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self, timeout: float = 10.0) -> None:
        """Starts listening; returns once LISTEN is active (or after timeout, polling meanwhile)."""
        self._task = asyncio.create_task(self._listen_forever(), name="ingest-job-events")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def subscribe(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever job_id changes (id as PostgreSQL prints a uuid)."""
        event = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters[job_id]
            waiters.discard(event)
            if not waiters:
                del self._waiters[job_id]

    def _wake(self, job_ids) -> None:
        for job_id in job_ids:
            for event in self._waiters.get(job_id, ()):
                event.set()

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    self._wake(list(self._waiters))  # whatever changed while nobody listened
                    async for notification in conn.notifies():
                        self._wake([notification.payload])
            except psycopg.Error as error:
                log.warning("ingest job notifications interrupted; watchers poll until they resume",
                            extra={"error": str(error)})
            self._listening.clear()
            await asyncio.sleep(_RECONNECT_SECONDS)


class JobWatcher:
    def __init__(self, jobs: JobStore, events: JobEvents, fallback_seconds: float):
        self._jobs, self._events, self._fallback = jobs, events, fallback_seconds

    async def watch(self, tenant_id: str, job_id: str) -> AsyncIterator[IngestJob]:
        """The job now, then each changed version of it until it has finished."""
        job = await self._jobs.get(tenant_id, job_id)  # NOT_FOUND before anything else
        last = None
        with self._events.subscribe(job.id) as changed:
            while True:
                # Cleared before the read: a change committed after it sets the event again.
                changed.clear()
                job = await self._jobs.get(tenant_id, job.id)
                if job != last:
                    yield job
                    last = job
                if job.finished:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), self._fallback)

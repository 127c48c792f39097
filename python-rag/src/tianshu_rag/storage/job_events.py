"""Ingest job changes as they commit, from PostgreSQL LISTEN/NOTIFY (the triggers of
migrations 0003 and 0005), and watching one job with them.

One connection per process listens, outside the pool (a pooled connection would stop
listening once returned) and wakes the watchers of the job named in each notification; a
change of the queue (a job queued, started or failed while queued) wakes the watchers of
queued jobs, whose place may have changed, and whoever starts queued jobs (the dispatcher).
Watchers also re-read at a long fallback interval, which covers notifications lost while
the listening connection was down; after reconnecting it wakes everyone once."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import psycopg

from .jobs import QUEUED, IngestJob, JobStore

log = logging.getLogger(__name__)

CHANNEL = "ingest_job"
QUEUE_CHANNEL = "ingest_job_queue"
# Pause before reconnecting a dropped listening connection.
_RECONNECT_SECONDS = 1.0


class Subscription:
    """changed is set whenever the job changes, and, while queued is True, whenever the queue does."""

    def __init__(self):
        self.changed = asyncio.Event()
        self.queued = False


class JobEvents:
    def __init__(self, url: str):
        self._url = url
        self._waiters: dict[str, set[Subscription]] = {}
        self._queue_listeners: list[Callable[[], None]] = []
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

    def on_queue_change(self, listener: Callable[[], None]) -> None:
        """Calls listener (in the event loop, without waiting) whenever the queue of jobs changes."""
        self._queue_listeners.append(listener)

    @contextlib.contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        """Changes of job_id (id as PostgreSQL prints a uuid)."""
        subscription = Subscription()
        self._waiters.setdefault(job_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            waiters = self._waiters[job_id]
            waiters.discard(subscription)
            if not waiters:
                del self._waiters[job_id]

    def _wake(self, job_ids) -> None:
        for job_id in job_ids:
            for subscription in self._waiters.get(job_id, ()):
                subscription.changed.set()

    def _wake_queue(self) -> None:
        for waiters in self._waiters.values():
            for subscription in waiters:
                if subscription.queued:
                    subscription.changed.set()
        for listener in self._queue_listeners:
            listener()

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await conn.execute(f"LISTEN {QUEUE_CHANNEL}")
                    self._listening.set()
                    self._wake(list(self._waiters))  # whatever changed while nobody listened
                    self._wake_queue()
                    async for notification in conn.notifies():
                        if notification.channel == QUEUE_CHANNEL:
                            self._wake_queue()
                        else:
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
        with self._events.subscribe(job.id) as subscription:
            while True:
                # Cleared before the read: a change committed after it sets the event again.
                # Queue changes count while the job may be queued (they move its place).
                subscription.changed.clear()
                subscription.queued = True
                job = await self._jobs.get(tenant_id, job.id)
                subscription.queued = job.state == QUEUED
                if job != last:
                    yield job
                    last = job
                if job.finished:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(subscription.changed.wait(), self._fallback)

"""Starts queued ingest jobs while this process runs fewer than its maximum: one task per
process that claims the next job of the start order (storage/jobs.py, job_queue.py) for each
free slot. Without a bound, 28 uploads started at once each kept Embed calls queued at the
inference service, none finished before the others, and everyone's searches waited.

It wakes when a job is queued here, when one of its jobs ends, when the queue changes
anywhere (a notification, storage/job_events.py), and every poll interval in case a
notification was lost. A stop claims nothing more and puts the running jobs back in the
queue (JobRunner), where a restarted process or another replica takes them."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from ..storage.jobs import ClaimedJob, JobStore
from .runner import JobRunner

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, jobs: JobStore, runner: JobRunner, max_running: int, poll_seconds: float,
                 lease_seconds: float):
        self._jobs, self._runner = jobs, runner
        self._max_running, self._poll, self._lease = max_running, poll_seconds, lease_seconds
        self._running: dict[str, asyncio.Task] = {}
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        """Look for queued jobs now (a job was queued, or one ended)."""
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._dispatch_forever(), name="ingest-dispatcher")

    async def stop(self) -> None:
        """Claims nothing more, then cancels the running jobs, which go back to the queue."""
        self._stopping = True
        self.wake()
        if self._task:
            # A claim under way completes, so the job it took is running (and requeued below)
            # rather than left RUNNING with no worker; one stuck on the database is cut off.
            done, _ = await asyncio.wait({self._task}, timeout=self._lease)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _dispatch_forever(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                while len(self._running) < self._max_running and not self._stopping:
                    claimed = await self._jobs.claim_next(self._lease)
                    if claimed is None:
                        break
                    self._launch(claimed)
            except Exception:  # noqa: BLE001 - the database may be back at the next wake or poll
                log.warning("starting queued ingest jobs failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)

    def _launch(self, claimed: ClaimedJob) -> None:
        log.info("ingest job started", extra={"job_id": claimed.id, "tenant_id": claimed.tenant_id})
        task = asyncio.create_task(self._runner.run(claimed), name=f"ingest-{claimed.id}")
        self._running[claimed.id] = task

        def ended(_: asyncio.Task) -> None:
            del self._running[claimed.id]
            self.wake()
        task.add_done_callback(ended)

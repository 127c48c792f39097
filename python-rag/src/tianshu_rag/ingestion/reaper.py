"""Fails the ingest jobs of processes that died: at start-up and then periodically, any
replica marks FAILED the RUNNING jobs whose lease ran out (storage/jobs.py), and drops their
stored documents. They are not queued again, although their documents are stored: a job
that killed its process (a document that exhausts memory) would kill the next one too, and
a process that only stalled past its lease may still be running it, which a second run
would race. A graceful stop is different: its process queues its jobs again itself."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from ..storage.jobs import JobStore

log = logging.getLogger(__name__)


class JobReaper:
    def __init__(self, jobs: JobStore, interval_seconds: float):
        self._jobs, self._interval = jobs, interval_seconds
        self._task: asyncio.Task | None = None

    async def sweep(self) -> list[str]:
        failed = await self._jobs.fail_abandoned()
        for job_id in failed:
            log.warning("ingest job failed: its worker stopped", extra={"job_id": job_id})
        return failed

    async def start(self) -> None:
        """One sweep now (jobs of a previous run of this service), then every interval."""
        await self.sweep()
        self._task = asyncio.create_task(self._sweep_forever(), name="ingest-job-reaper")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - the database may be back by the next sweep
                log.warning("sweeping abandoned ingest jobs failed", exc_info=True)

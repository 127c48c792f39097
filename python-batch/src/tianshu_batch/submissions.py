"""Direct Kafka submission: BatchSubmission messages from internal producers become batches
exactly as CreateBatch requests do. A refused submission is logged (no caller is waiting)."""
from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import DecodeError
from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu_grpc_server.errors import ServiceError

from .consuming import consume, consumer
from .jobs import Jobs
from .servicer import create_from
from .settings import BatchSettings
from .topics import Topics

log = logging.getLogger(__name__)


class SubmissionReader:
    def __init__(self, settings: BatchSettings, jobs: Jobs, topics: Topics):
        self._s, self._jobs, self._topics = settings, jobs, topics
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        s = self._s
        kafka = await asyncio.to_thread(consumer, s.kafka_bootstrap_servers, self._topics.submissions,
                                        f"{s.consumer_group}-submissions", 16)
        try:
            await consume(kafka, self._round, self._stopping, s.retry_base_seconds)
        finally:
            await asyncio.to_thread(kafka.close, False)

    def stop(self) -> None:
        self._stopping.set()

    async def _round(self, records: list) -> None:
        for record in records:
            try:
                submission = pb.BatchSubmission.FromString(record.value)
                batch = await create_from(self._jobs, submission.request)
            except (DecodeError, ServiceError) as error:
                log.warning("submission refused", extra={"offset": record.offset, "error": str(error)})
                continue
            log.info("submission accepted", extra={"batch_id": batch.id, "offset": record.offset})

"""The worker: consumes BatchItem from Kafka in a consumer group, runs each line through the
inference service at batch priority with bounded concurrency (pipelined: a new line
starts as soon as one finishes), retries transient failures with backoff, sends lines that
keep failing to the dead-letter topic, and records every result in PostgreSQL before its
offset can be committed."""
from __future__ import annotations

import asyncio
import logging
import random
import uuid

from google.protobuf.message import DecodeError
from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu.jobs.v1 import jobs_pb2 as pb

from . import metrics
from .consuming import Pipeline, consumer
from .inference import InferenceClient, InferenceFailure
from .protos import item_request, outcome_enum
from .publisher import Publisher
from .settings import BatchSettings
from .storage.batches import FAILED, RUN, SUCCEEDED, BatchStore, LineResult
from .topics import item_key

log = logging.getLogger(__name__)
_CLIENT_ERRORS = {"NOT_FOUND": (404, "model_not_found")}


class Worker:
    def __init__(self, settings: BatchSettings, store: BatchStore, inference: InferenceClient, publisher: Publisher):
        self._s, self._store, self._inference, self._publisher = settings, store, inference, publisher
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        s = self._s
        kafka = await asyncio.to_thread(consumer, s.kafka_bootstrap_servers, s.consumer_group,
                                        s.kafka_reconnect_backoff_max_seconds)
        try:
            # Up to worker_concurrency lines run at once; a slow line holds only its own slot.
            await Pipeline(kafka, self._publisher.topics.items, self._handle, s.worker_concurrency,
                           s.retry_base_seconds, s.kafka_send_timeout_seconds).run(self._stopping)
        finally:
            await asyncio.to_thread(kafka.close, False)  # False: only the finished prefix is ever committed

    def stop(self) -> None:
        self._stopping.set()

    async def _handle(self, record) -> None:
        try:
            item = pb.BatchItem.FromString(record.value)
        except DecodeError as error:
            await self._dead_letter(record.key or b"", pb.BatchItem(error=f"not a BatchItem: {error}"))
            return
        if await self._store.start_line(item.batch_id, item.custom_id) != RUN:
            return
        result = await self._run(item)
        if await self._store.finish_line(item.batch_id, item.custom_id, result):
            metrics.LINES.labels(result.outcome).inc()
            metrics.TOKENS.inc(result.total_tokens)
            await self._publisher.send_best_effort(self._publisher.topics.results,
                                                   item_key(item.batch_id, item.custom_id),
                                                   pb.BatchItemResult(batch_id=item.batch_id, custom_id=item.custom_id,
                                                                      outcome=outcome_enum(result.outcome),
                                                                      status_code=result.status_code,
                                                                      error_code=result.error_code))

    async def _run(self, item: pb.BatchItem) -> LineResult:
        """The line's result: succeeded, refused (the caller's fault, not retried) or failed
        after max_attempts transient failures (then also dead-lettered)."""
        last: InferenceFailure | None = None
        for attempt in range(item.attempt, self._s.max_attempts):
            try:
                return await self._call(item)
            except ValueError as error:
                # An item without a request of its endpoint's kind (e.g. produced by hand):
                # retrying cannot help, and rewinding the round would repeat it forever.
                return LineResult(FAILED, 400, error_code="invalid_request", error_message=str(error))
            except InferenceFailure as failure:
                if not failure.transient:
                    status, code = _CLIENT_ERRORS.get(failure.code.name, (400, "invalid_request"))
                    return LineResult(FAILED, status, error_code=code, error_message=failure.details)
                last = failure
                metrics.RETRIES.inc()
                if attempt + 1 < self._s.max_attempts:
                    await asyncio.sleep(self._backoff(attempt))
        dead = pb.BatchItem()
        dead.CopyFrom(item)
        dead.attempt, dead.error = self._s.max_attempts, str(last)
        await self._dead_letter(item_key(item.batch_id, item.custom_id), dead)
        return LineResult(FAILED, 500, error_code="inference_failed",
                          error_message=f"failed {self._s.max_attempts} times; last: {last}")

    def _backoff(self, attempt: int) -> float:
        # Full jitter, so that the lines of a failed round do not come back all at once.
        return random.uniform(0, min(self._s.retry_max_seconds, self._s.retry_base_seconds * 2 ** attempt))

    async def _call(self, item: pb.BatchItem) -> LineResult:
        line = item_request(item)
        request = type(line)()
        request.CopyFrom(line)  # the item itself goes to the dead-letter topic as it came
        # Set here, on every call, whoever built the line (the gateway, or a producer writing
        # BatchSubmission to Kafka): a batch line runs for its batch's tenant, under a request id
        # of this attempt, and in the capacity interactive calls leave (PRIORITY_BATCH: vLLM's
        # priority scheduling, and the embedding model reads waiting interactive calls first).
        request.request_id, request.tenant_id, request.priority = uuid.uuid4().hex, item.tenant_id, ipb.PRIORITY_BATCH
        if isinstance(request, ipb.EmbedRequest):
            embedded = await self._inference.embed(request)
            return LineResult(SUCCEEDED, 200, embedded.SerializeToString(),
                              prompt_tokens=embedded.usage.prompt_tokens)
        generated = await self._inference.generate(request)
        return LineResult(SUCCEEDED, 200, generated.SerializeToString(),
                          prompt_tokens=generated.usage.prompt_tokens,
                          completion_tokens=generated.usage.completion_tokens)

    async def _dead_letter(self, key: bytes, item: pb.BatchItem) -> None:
        metrics.DEAD_LETTERS.inc()
        log.warning("line sent to the dead-letter topic", extra={"batch_id": item.batch_id,
                                                                  "custom_id": item.custom_id, "error": item.error})
        await self._publisher.send_all(self._publisher.topics.dead_letter, [(key, item)])


"""JobsService: converts proto to and from the domain and calls one Jobs method per RPC."""
from __future__ import annotations

import datetime as dt
import json

from google.protobuf import json_format
from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu.jobs.v1 import jobs_pb2_grpc as pb_grpc
from tianshu_grpc_server.errors import InvalidArgument, Unavailable

from . import openai_format
from .jobs import Jobs, counts_proto, endpoint_enum, endpoint_path, status_enum, transition_proto
from .lines import RawLine
from .storage.batches import (CANCELLED, EXPIRED, FAILED, SUCCEEDED, WEBHOOK_DELIVERED, WEBHOOK_FAILED,
                              WEBHOOK_PENDING, Batch, Line)
from .storage.ledger import UsageRecord

_TIMES = ("created_at", "in_progress_at", "finalizing_at", "completed_at", "failed_at", "cancelling_at",
          "cancelled_at", "expired_at", "expires_at")
_OUTCOMES = {SUCCEEDED: pb.ITEM_OUTCOME_SUCCEEDED, FAILED: pb.ITEM_OUTCOME_FAILED,
             CANCELLED: pb.ITEM_OUTCOME_CANCELLED, EXPIRED: pb.ITEM_OUTCOME_EXPIRED}
_WEBHOOK_STATUSES = {WEBHOOK_PENDING: pb.WEBHOOK_STATUS_PENDING, WEBHOOK_DELIVERED: pb.WEBHOOK_STATUS_DELIVERED,
                     WEBHOOK_FAILED: pb.WEBHOOK_STATUS_FAILED}


class JobsServicer(pb_grpc.JobsServiceServicer):
    def __init__(self):
        self._jobs: Jobs | None = None

    def attach(self, jobs: Jobs) -> None:
        self._jobs = jobs

    @property
    def jobs(self) -> Jobs:
        if self._jobs is None:
            raise Unavailable("the batch service is starting")
        return self._jobs

    async def CreateBatch(self, request, context):
        return pb.CreateBatchResponse(batch=batch_proto(await create_from(self.jobs, request)))

    async def GetBatch(self, request, context):
        return pb.GetBatchResponse(batch=batch_proto(await self.jobs.get(request.tenant_id, request.batch_id)))

    async def ListBatches(self, request, context):
        batches, token = await self.jobs.list(request.tenant_id, request.page_size, request.page_token)
        return pb.ListBatchesResponse(batches=[batch_proto(b) for b in batches], next_page_token=token)

    async def CancelBatch(self, request, context):
        return pb.CancelBatchResponse(batch=batch_proto(await self.jobs.cancel(request.tenant_id, request.batch_id)))

    async def GetBatchResults(self, request, context):
        if request.kind == pb.RESULT_KIND_UNSPECIFIED:
            raise InvalidArgument("kind", "RESULT_KIND_OUTPUT or RESULT_KIND_ERRORS")
        lines, token = await self.jobs.results(request.tenant_id, request.batch_id,
                                               request.kind == pb.RESULT_KIND_ERRORS, request.page_size,
                                               request.page_token)
        return pb.GetBatchResultsResponse(
            results=[result_proto(line) for line in lines], next_page_token=token,
            jsonl_lines=[json.dumps(openai_format.result_line(
                line.batch_id, line.custom_id, line.status_code, line.response, line.error_code,
                line.error_message), ensure_ascii=False) for line in lines])

    async def ListBatchTransitions(self, request, context):
        made = await self.jobs.transitions(request.tenant_id, request.batch_id)
        return pb.ListBatchTransitionsResponse(transitions=[transition_proto(t) for t in made])

    async def ListUsage(self, request, context):
        records = await self.jobs.usage(request.after_sequence, request.page_size)
        return pb.ListUsageResponse(records=[usage_proto(r) for r in records])


async def create_from(jobs: Jobs, request: pb.CreateBatchRequest) -> Batch:
    """CreateBatch and BatchSubmission take the same request."""
    path = endpoint_path(request.endpoint)
    if not path:
        raise InvalidArgument("endpoint", "ENDPOINT_CHAT_COMPLETIONS or ENDPOINT_EMBEDDINGS")
    lines = [RawLine(line.custom_id, line.method, line.url, line.body) for line in request.lines]
    return await jobs.create(request.tenant_id, path, lines, dict(request.metadata), request.completion_window,
                             request.idempotency_key, request.webhook_url)


def completion_payload(b: Batch) -> bytes:
    """The body of a completion webhook: the final Batch in the protobuf JSON mapping, without
    its own delivery state (which changes with every attempt, while the body stays the same)."""
    out = batch_proto(b)
    out.ClearField("webhook")
    return json_format.MessageToJson(out, indent=None).encode()


def batch_proto(b: Batch) -> pb.Batch:
    out = pb.Batch(batch_id=b.id, tenant_id=b.tenant_id, endpoint=endpoint_enum(b.endpoint),
                   status=status_enum(b.status), request_counts=counts_proto(b),
                   usage=pb.TokenUsage(prompt_tokens=b.prompt_tokens, completion_tokens=b.completion_tokens,
                                       total_tokens=b.total_tokens),
                   metadata=b.metadata, completion_window=b.completion_window,
                   idempotency_key=b.idempotency_key or "", error=b.error)
    for name in _TIMES:
        _set_time(getattr(out, name), getattr(b, name))
    if b.webhook_url:
        out.webhook.CopyFrom(pb.WebhookDelivery(
            url=b.webhook_url, status=_WEBHOOK_STATUSES.get(b.webhook_status or "", 0), attempts=b.webhook_attempts,
            last_status_code=b.webhook_last_status_code, last_error=b.webhook_last_error))
        _set_time(out.webhook.delivered_at, b.webhook_delivered_at)
        _set_time(out.webhook.next_attempt_at, b.webhook_next_attempt_at)
    return out


def usage_proto(r: UsageRecord) -> pb.UsageRecord:
    out = pb.UsageRecord(sequence=r.sequence, tenant_id=r.tenant_id, batch_id=r.batch_id, custom_id=r.custom_id,
                         endpoint=endpoint_enum(r.endpoint), model=r.model,
                         usage=pb.TokenUsage(prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                                             total_tokens=r.prompt_tokens + r.completion_tokens))
    _set_time(out.finished_at, r.finished_at)
    return out


def result_proto(line: Line) -> pb.BatchItemResult:
    out = pb.BatchItemResult(
        batch_id=line.batch_id, custom_id=line.custom_id, outcome=_OUTCOMES.get(line.outcome, 0),
        status_code=line.status_code, response_body=json.dumps(line.response) if line.response is not None else "",
        error_code=line.error_code, error_message=line.error_message, line_index=line.line_index,
        usage=pb.TokenUsage(prompt_tokens=line.prompt_tokens, completion_tokens=line.completion_tokens,
                            total_tokens=line.total_tokens))
    _set_time(out.finished_at, line.finished_at)
    return out


def _set_time(field, value: dt.datetime | None) -> None:
    if value is not None:
        field.FromDatetime(value)

"""Every conversion between the jobs contract (tianshu.jobs.v1, which carries the inference
service's messages) and the batch service's domain, in one place: the servicer, the job logic,
the worker and the store deal in plain values and serialized requests and answers."""
from __future__ import annotations

import datetime as dt

from google.protobuf import json_format
from tianshu.jobs.v1 import jobs_pb2 as pb

from .lines import CHAT, EMBEDDINGS, RawLine, Request
from .storage.batches import (CANCELLED, EXPIRED, FAILED, SUCCEEDED, WEBHOOK_DELIVERED, WEBHOOK_FAILED,
                              WEBHOOK_PENDING, Batch, Line, Transition)
from .storage.ledger import UsageRecord

_ENDPOINTS = {CHAT: pb.ENDPOINT_CHAT_COMPLETIONS, EMBEDDINGS: pb.ENDPOINT_EMBEDDINGS}
# The field of a line's request (InputLine, BatchItem) and answer (BatchItemResult) by endpoint.
_ONEOF = {CHAT: "generation", EMBEDDINGS: "embedding"}
_TIMES = ("created_at", "in_progress_at", "finalizing_at", "completed_at", "failed_at", "cancelling_at",
          "cancelled_at", "expired_at", "expires_at")
_OUTCOMES = {SUCCEEDED: pb.ITEM_OUTCOME_SUCCEEDED, FAILED: pb.ITEM_OUTCOME_FAILED,
             CANCELLED: pb.ITEM_OUTCOME_CANCELLED, EXPIRED: pb.ITEM_OUTCOME_EXPIRED}
_WEBHOOK_STATUSES = {WEBHOOK_PENDING: pb.WEBHOOK_STATUS_PENDING, WEBHOOK_DELIVERED: pb.WEBHOOK_STATUS_DELIVERED,
                     WEBHOOK_FAILED: pb.WEBHOOK_STATUS_FAILED}


def endpoint_enum(path: str) -> int:
    return _ENDPOINTS[path]


def endpoint_path(value: int) -> str:
    for path, enum in _ENDPOINTS.items():
        if enum == value:
            return path
    return ""


def status_enum(status: str) -> int:
    return pb.BatchStatus.Value(f"BATCH_STATUS_{status.upper()}")


def outcome_enum(outcome: str) -> int:
    return _OUTCOMES.get(outcome, 0)


# --- lines: in (InputLine), queued (BatchItem), run (worker), out (BatchItemResult) ------------

def raw_line(line: pb.InputLine) -> RawLine:
    kind = line.WhichOneof("request")
    return RawLine(line.custom_id, getattr(line, kind) if kind else None)


def item(batch: Batch, custom_id: str, request: bytes) -> pb.BatchItem:
    """The Kafka message of a stored line; request is the line's serialized request."""
    out = pb.BatchItem(batch_id=batch.id, custom_id=custom_id, endpoint=endpoint_enum(batch.endpoint),
                       tenant_id=batch.tenant_id)
    getattr(out, _ONEOF[batch.endpoint]).MergeFromString(request)
    return out


def item_request(item: pb.BatchItem) -> Request:
    """The request a queued line runs; ValueError when it carries none or not its endpoint's kind
    (an item produced by hand: retrying cannot help)."""
    kind = item.WhichOneof("request")
    path = endpoint_path(item.endpoint)
    if not path or kind != _ONEOF[path]:
        raise ValueError(f"a {pb.Endpoint.Name(item.endpoint)} item carries {kind or 'no request'}")
    return getattr(item, kind)


def result_proto(line: Line) -> pb.BatchItemResult:
    out = pb.BatchItemResult(
        batch_id=line.batch_id, custom_id=line.custom_id, outcome=outcome_enum(line.outcome),
        status_code=line.status_code, error_code=line.error_code, error_message=line.error_message,
        line_index=line.line_index,
        usage=pb.TokenUsage(prompt_tokens=line.prompt_tokens, completion_tokens=line.completion_tokens,
                            total_tokens=line.total_tokens))
    if line.response is not None:
        getattr(out, _ONEOF[line.endpoint]).MergeFromString(line.response)
    _set_time(out.finished_at, line.finished_at)
    return out


# --- batches ---------------------------------------------------------------------------------

def counts_proto(batch: Batch | None) -> pb.RequestCounts:
    if batch is None:
        return pb.RequestCounts()
    return pb.RequestCounts(total=batch.request_total, completed=batch.request_completed,
                            failed=batch.request_failed, skipped=batch.request_skipped)


def transition_proto(t: Transition) -> pb.BatchTransition:
    out = pb.BatchTransition(from_status=status_enum(t.from_status) if t.from_status else 0,
                             to_status=status_enum(t.to_status), reason=t.reason)
    out.at.FromDatetime(t.at)
    return out


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


def completion_payload(b: Batch) -> bytes:
    """The body of a completion webhook: the final Batch in the protobuf JSON mapping, without
    its own delivery state (which changes with every attempt, while the body stays the same)."""
    out = batch_proto(b)
    out.ClearField("webhook")
    return json_format.MessageToJson(out, indent=None).encode()


def usage_proto(r: UsageRecord) -> pb.UsageRecord:
    out = pb.UsageRecord(sequence=r.sequence, tenant_id=r.tenant_id, batch_id=r.batch_id, custom_id=r.custom_id,
                         endpoint=endpoint_enum(r.endpoint), model=r.model,
                         usage=pb.TokenUsage(prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                                             total_tokens=r.prompt_tokens + r.completion_tokens))
    _set_time(out.finished_at, r.finished_at)
    return out


def _set_time(field, value: dt.datetime | None) -> None:
    if value is not None:
        field.FromDatetime(value)

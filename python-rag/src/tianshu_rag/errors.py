"""The RAG service's errors. ErrorInterceptor (tianshu_grpc_server) turns them into gRPC
statuses with details: BadRequest naming the field, PreconditionFailure naming what is
violated, ResourceInfo naming what is missing or already there, QuotaFailure naming the
limit a job would exceed."""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2, descriptor_pool, message, message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu_grpc_server.errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ServiceError,
                                        Unavailable)

__all__ = ["AlreadyExists", "FailedPrecondition", "InvalidArgument", "NotFound", "OverBudget", "Relayed",
           "ServiceError", "Unavailable", "model_mismatch"]


def model_mismatch(collection: str, collection_model: str, requested_model: str) -> FailedPrecondition:
    return FailedPrecondition(
        "EMBEDDING_MODEL", collection,
        f"collection {collection!r} holds embeddings of model {collection_model!r}; "
        f"refusing vectors of model {requested_model!r}")


class OverBudget(ServiceError):
    """What the caller asked for needs more than the limit the caller gave (an ingest job's
    embedding tokens against max_embedding_tokens): refused before anything is stored. The
    numbers travel in an ErrorInfo as well as in the message, so a caller (the gateway's
    ingestion quota) reads them without parsing text."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    REASON = "EMBEDDING_TOKENS_OVER_LIMIT"
    DOMAIN = "rag.tianshu.io"

    def __init__(self, subject: str, needed: int, limit: int):
        super().__init__(f"the documents need {needed} embedding tokens, more than max_embedding_tokens ({limit})")
        self.subject, self.needed, self.limit = subject, needed, limit

    def detail(self):
        return error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
            subject=self.subject, description=self.message, quota_id="max_embedding_tokens",
            quota_metric="embedding_tokens", quota_value=self.limit)])

    def details(self):
        return [self.detail(), error_details_pb2.ErrorInfo(
            reason=self.REASON, domain=self.DOMAIN,
            metadata={"needed_embedding_tokens": str(self.needed), "max_embedding_tokens": str(self.limit)})]


class Relayed(ServiceError):
    """Another service's refusal of what the caller asked for, passed on with its status
    code, message and detail unchanged (the inference service refusing the caller's model)."""

    def __init__(self, code: grpc.StatusCode, message_text: str, detail: message.Message | None):
        super().__init__(message_text)
        self.code, self._detail = code, detail

    @classmethod
    def of(cls, error: grpc.aio.AioRpcError) -> Relayed:
        status = rpc_status.from_call(error)
        details = list(status.details) if status else []
        return cls(error.code(), error.details() or "", _unpack(details[0]) if details else None)

    def detail(self) -> message.Message | None:
        return self._detail


def _unpack(packed: any_pb2.Any) -> message.Message | None:
    """The detail as its own message type (google.rpc's are all registered), or None."""
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(packed.TypeName())
    except KeyError:
        return None
    unpacked = message_factory.GetMessageClass(descriptor)()
    packed.Unpack(unpacked)
    return unpacked

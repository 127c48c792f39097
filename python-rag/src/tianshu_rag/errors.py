"""The RAG service's errors: the shared ones of tianshu_grpc_server.errors (whose
ErrorInterceptor turns them into gRPC statuses with details), the embedding-model mismatch,
OverBudget (an upload over the caller's max_embedding_tokens) and Relayed, another service's refusal passed on as it came."""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2, descriptor_pool, message, message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu_grpc_server.errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound,
                                        ResourceExhausted, ServiceError, Unavailable)

__all__ = ["AlreadyExists", "FailedPrecondition", "InvalidArgument", "NotFound", "OverBudget", "Relayed",
           "ResourceExhausted", "ServiceError", "Unavailable", "model_mismatch"]


def model_mismatch(collection: str, collection_model: str, requested_model: str) -> FailedPrecondition:
    return FailedPrecondition(
        "EMBEDDING_MODEL", collection,
        f"collection {collection!r} holds embeddings of model {collection_model!r}; "
        f"refusing vectors of model {requested_model!r}")


class OverBudget(ResourceExhausted):
    """An ingest job whose embedding tokens exceed the max_embedding_tokens the caller gave,
    refused before anything is stored. The numbers travel in an ErrorInfo as well as in the
    message, so a caller (the gateway's ingestion quota) reads them without parsing text."""
    REASON = "EMBEDDING_TOKENS_OVER_LIMIT"
    DOMAIN = "rag.tianshu.io"

    def __init__(self, subject: str, needed: int, limit: int):
        super().__init__(subject, f"the documents need {needed} embedding tokens, more than max_embedding_tokens "
                                  f"({limit})")
        self.needed, self.limit = needed, limit

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

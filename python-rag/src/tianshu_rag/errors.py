"""The RAG service's errors: the shared ones of tianshu_grpc_server.errors (whose
ErrorInterceptor turns them into gRPC statuses with details), the embedding-model mismatch,
and Relayed, another service's refusal passed on as it came."""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2, descriptor_pool, message, message_factory
from grpc_status import rpc_status
from tianshu_grpc_server.errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound,
                                        ResourceExhausted, ServiceError, Unavailable)

__all__ = ["AlreadyExists", "FailedPrecondition", "InvalidArgument", "NotFound", "Relayed", "ResourceExhausted",
           "ServiceError", "Unavailable", "model_mismatch"]


def model_mismatch(collection: str, collection_model: str, requested_model: str) -> FailedPrecondition:
    return FailedPrecondition(
        "EMBEDDING_MODEL", collection,
        f"collection {collection!r} holds embeddings of model {collection_model!r}; "
        f"refusing vectors of model {requested_model!r}")


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

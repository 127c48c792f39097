"""The RAG service's errors. ErrorInterceptor (tianshu_grpc_server) turns them into gRPC
statuses with details: BadRequest naming the field, PreconditionFailure naming what is
violated, ResourceInfo naming what is missing or already there."""
from __future__ import annotations

from tianshu_grpc_server.errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ServiceError,
                                        Unavailable)

__all__ = ["AlreadyExists", "FailedPrecondition", "InvalidArgument", "NotFound", "ServiceError", "Unavailable",
           "model_mismatch"]


def model_mismatch(collection: str, collection_model: str, requested_model: str) -> FailedPrecondition:
    return FailedPrecondition(
        "EMBEDDING_MODEL", collection,
        f"collection {collection!r} holds embeddings of model {collection_model!r}; "
        f"refusing vectors of model {requested_model!r}")

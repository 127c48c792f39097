"""The RAG service's errors. ErrorInterceptor (tianshu_grpc_server) turns them into gRPC
statuses with details: BadRequest naming the field, PreconditionFailure naming what is
violated, ResourceInfo naming what is missing or already there."""
from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from tianshu_grpc_server.errors import InvalidArgument, ServiceError, Unavailable

__all__ = ["AlreadyExists", "FailedPrecondition", "InvalidArgument", "NotFound", "ServiceError", "Unavailable",
           "model_mismatch"]


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind} {name!r} not found")
        self.kind, self.name = kind, name

    def detail(self):
        return error_details_pb2.ResourceInfo(resource_type=self.kind, resource_name=self.name,
                                              description="not found")


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind} {name!r} already exists")
        self.kind, self.name = kind, name

    def detail(self):
        return error_details_pb2.ResourceInfo(resource_type=self.kind, resource_name=self.name,
                                              description="already exists")


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, kind: str, subject: str, description: str):
        super().__init__(description)
        self.kind, self.subject = kind, subject

    def detail(self):
        return error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=self.kind, subject=self.subject, description=self.message)])


def model_mismatch(collection: str, collection_model: str, requested_model: str) -> FailedPrecondition:
    return FailedPrecondition(
        "EMBEDDING_MODEL", collection,
        f"collection {collection!r} holds embeddings of model {collection_model!r}; "
        f"refusing vectors of model {requested_model!r}")

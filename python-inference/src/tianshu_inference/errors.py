"""The inference service's errors. ErrorInterceptor (tianshu_grpc_server) turns them into
gRPC statuses with details: BadRequest naming the field, QuotaFailure for overload."""
from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from tianshu_grpc_server.errors import InvalidArgument, ServiceError, Unavailable

__all__ = ["InvalidArgument", "NotFound", "Overloaded", "ServiceError", "Unavailable"]


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class Overloaded(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def detail(self):
        return error_details_pb2.QuotaFailure(violations=[
            error_details_pb2.QuotaFailure.Violation(subject="engine", description=self.message)])

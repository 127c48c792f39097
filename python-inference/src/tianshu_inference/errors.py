"""Domain errors and the one place they become gRPC statuses.

Servicers and the engine raise these; ErrorInterceptor turns them into a status with
rich details (google.rpc.BadRequest naming the field, QuotaFailure for overload), and
anything unexpected into INTERNAL without leaking the traceback to the caller.
"""
from __future__ import annotations

import inspect
import logging

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

log = logging.getLogger(__name__)


class ServiceError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def details(self) -> list[any_pb2.Any]:
        return []


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field

    def details(self) -> list[any_pb2.Any]:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=self.field, description=self.message)
        ]))
        return [detail]


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class Overloaded(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def details(self) -> list[any_pb2.Any]:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.QuotaFailure(violations=[
            error_details_pb2.QuotaFailure.Violation(subject="engine", description=self.message)
        ]))
        return [detail]


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


def _status_of(error: ServiceError) -> grpc.Status:
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.message)
    status.details.extend(error.details())
    return rpc_status.to_status(status)


async def _abort(context: grpc.aio.ServicerContext, error: BaseException) -> None:
    if isinstance(error, ServiceError):
        await context.abort_with_status(_status_of(error))
    log.exception("unexpected error", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the service log")


class _Undecodable:
    """Stands in for a request that failed to parse, so the handler can refuse it properly
    (grpc would otherwise answer INTERNAL for a request that is simply malformed)."""

    def __init__(self, error: Exception):
        self.error = error


def _tolerant(deserializer):
    def parse(data: bytes):
        try:
            return deserializer(data)
        except Exception as error:  # noqa: BLE001 - DecodeError, invalid UTF-8 in a string field
            return _Undecodable(error)

    return parse


def _refuse(request) -> None:
    if isinstance(request, _Undecodable):
        raise InvalidArgument("request", f"not a valid message (for example invalid UTF-8 in a text field): "
                                         f"{request.error}")


def _wrap_unary(behavior):
    async def wrapper(request, context):
        try:
            _refuse(request)
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:  # noqa: BLE001 - the boundary that maps every error
            await _abort(context, error)

    return wrapper


def _wrap_stream(behavior):
    async def wrapper(request, context):
        try:
            _refuse(request)
            async for item in behavior(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as error:  # noqa: BLE001
            await _abort(context, error)

    return wrapper


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer)
        if handler.unary_stream:
            # Streaming handlers are async generators or coroutines that call context.write
            # (as grpc's own health Watch does); each needs a wrapper of its own shape.
            wrap = _wrap_stream if inspect.isasyncgenfunction(handler.unary_stream) else _wrap_unary
            return grpc.unary_stream_rpc_method_handler(
                wrap(handler.unary_stream),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer)
        return handler

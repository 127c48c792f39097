"""Domain errors, and ErrorInterceptor: the one place they become gRPC statuses.

Everything below the servicer raises RagError subclasses; the interceptor turns them into a
status with google.rpc details (BadRequest naming the field, PreconditionFailure naming
what is violated, ResourceInfo naming what is missing). Anything else becomes INTERNAL
without the traceback reaching the caller.
"""
from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

log = logging.getLogger(__name__)


class RagError(Exception):
    code = grpc.StatusCode.INTERNAL

    def __init__(self, message_text: str):
        super().__init__(message_text)
        self.message = message_text

    def detail(self) -> message.Message | None:
        return None


class InvalidArgument(RagError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason

    def detail(self):
        return error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=self.field, description=self.reason)])


class NotFound(RagError):
    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind} {name!r} not found")
        self.kind, self.name = kind, name

    def detail(self):
        return error_details_pb2.ResourceInfo(resource_type=self.kind, resource_name=self.name,
                                              description="not found")


class AlreadyExists(RagError):
    code = grpc.StatusCode.ALREADY_EXISTS

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind} {name!r} already exists")
        self.kind, self.name = kind, name

    def detail(self):
        return error_details_pb2.ResourceInfo(resource_type=self.kind, resource_name=self.name,
                                              description="already exists")


class FailedPrecondition(RagError):
    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, kind: str, subject: str, description: str):
        super().__init__(description)
        self.kind, self.subject = kind, subject

    def detail(self):
        return error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=self.kind, subject=self.subject, description=self.message)])


class Unavailable(RagError):
    """A dependency (database, inference service) cannot be reached; worth retrying."""
    code = grpc.StatusCode.UNAVAILABLE


def model_mismatch(collection: str, collection_model: str, requested_model: str) -> FailedPrecondition:
    return FailedPrecondition(
        "EMBEDDING_MODEL", collection,
        f"collection {collection!r} holds embeddings of model {collection_model!r}; "
        f"refusing vectors of model {requested_model!r}")


def to_status(error: RagError) -> grpc.Status:
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.message)
    detail = error.detail()
    if detail is not None:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return rpc_status.to_status(status)


async def _abort(context: grpc.aio.ServicerContext, error: Exception) -> None:
    if isinstance(error, RagError):
        await context.abort_with_status(to_status(error))
    log.exception("unexpected error", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the service log")


class _Malformed:
    """A request that did not parse; the handler refuses it as INVALID_ARGUMENT rather than
    letting grpc answer INTERNAL for what is bad input."""

    def __init__(self, error: Exception):
        self.error = error


def _lenient(deserialize):
    def parse(data: bytes):
        try:
            return deserialize(data)
        except Exception as error:  # noqa: BLE001 - DecodeError, invalid UTF-8 in a string
            return _Malformed(error)

    return parse


def _check_parsed(request) -> None:
    if isinstance(request, _Malformed):
        raise InvalidArgument("request", f"not a valid message: {request.error}")


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary:
            behavior = handler.unary_unary

            async def unary(request, context):
                try:
                    _check_parsed(request)
                    return await behavior(request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as error:  # noqa: BLE001 - the boundary that maps every error
                    await _abort(context, error)

            return grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer)
        if handler.unary_stream:
            stream_behavior = handler.unary_stream

            async def stream(request, context):
                try:
                    _check_parsed(request)
                    async for item in stream_behavior(request, context):
                        yield item
                except grpc.aio.AbortError:
                    raise
                except Exception as error:  # noqa: BLE001
                    await _abort(context, error)

            return grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer)
        return handler

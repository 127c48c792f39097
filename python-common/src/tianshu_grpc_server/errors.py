"""Service errors, and ErrorInterceptor: the one place they become gRPC statuses.

Code below a servicer raises ServiceError subclasses; the interceptor turns them into a
status with a google.rpc detail (BadRequest naming the field, ResourceInfo naming what is
missing or already there, PreconditionFailure naming what is violated, QuotaFailure naming the
limit reached, and whatever a service's own subclasses attach). A few exceptions of Python and
its libraries have a meaning of their own (_TRANSLATED): NotImplementedError is UNIMPLEMENTED
(grpc's generated base servicer raises it for a method the service does not implement), and a
value PostgreSQL refuses to store (psycopg's DataError) INVALID_ARGUMENT, as it can only have
come from the request. Anything else becomes INTERNAL without the traceback reaching the caller.
A request that does not even parse is refused as INVALID_ARGUMENT, not INTERNAL.
"""
from __future__ import annotations

import inspect
import logging

import grpc
import psycopg
from google.protobuf import any_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

log = logging.getLogger(__name__)


class ServiceError(Exception):
    code = grpc.StatusCode.INTERNAL

    def __init__(self, message_text: str):
        super().__init__(message_text)
        self.message = message_text

    def detail(self) -> message.Message | None:
        return None

    def details(self) -> list[message.Message]:
        """Every google.rpc detail of the status; one (detail()) unless a refusal needs more,
        e.g. a QuotaFailure for people and an ErrorInfo with numbers for programs."""
        detail = self.detail()
        return [detail] if detail is not None else []


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason

    def detail(self):
        return error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=self.field, description=self.reason)])


class Unavailable(ServiceError):
    """This service or one it depends on cannot serve right now; worth retrying elsewhere or later."""
    code = grpc.StatusCode.UNAVAILABLE


class NotFound(ServiceError):
    """`description`, when given, is the message instead of the plain "kind 'name' not found"
    (e.g. to list what does exist)."""
    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, kind: str, name: str, description: str | None = None):
        super().__init__(description or f"{kind} {name!r} not found")
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


class ResourceExhausted(ServiceError):
    """A limit is reached (a queue full, a budget the caller set too small); `subject` names
    whose limit it is ("engine", "tenant:acme")."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, subject: str, description: str):
        super().__init__(description)
        self.subject = subject

    def detail(self):
        return error_details_pb2.QuotaFailure(violations=[
            error_details_pb2.QuotaFailure.Violation(subject=self.subject, description=self.message)])


class Unimplemented(ServiceError):
    code = grpc.StatusCode.UNIMPLEMENTED


def to_status(error: ServiceError) -> grpc.Status:
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.message)
    for detail in error.details():
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return rpc_status.to_status(status)


def _refused_value(error: psycopg.DataError) -> InvalidArgument:
    """A value of the request that PostgreSQL cannot store: a NUL character in text (psycopg
    refuses it before sending, with no SQLSTATE; inside JSON the server refuses it, 22P05), or a
    data exception (SQLSTATE class 22) such as a string longer than its column. The caller can
    fix it; PostgreSQL's own words name columns and types, so they go to the log only."""
    log.warning("database refused a value of the request: %s", error)
    nul = error.sqlstate in ("22021", "22P05") or (error.sqlstate is None and "NUL" in str(error))
    return InvalidArgument("request", "a text value holds a NUL character (U+0000), which cannot be stored"
                           if nul else "a value cannot be stored")


def _not_implemented(error: NotImplementedError) -> Unimplemented:
    return Unimplemented(str(error) or "not implemented")


# Exceptions that are not ServiceErrors yet say what went wrong, each with its ServiceError.
_TRANSLATED = ((NotImplementedError, _not_implemented), (psycopg.DataError, _refused_value))


async def _abort(context: grpc.aio.ServicerContext, error: Exception) -> None:
    for kind, translate in _TRANSLATED:
        if isinstance(error, kind):
            error = translate(error)
            break
    if isinstance(error, ServiceError):
        await context.abort_with_status(to_status(error))
    log.exception("unexpected error", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the service log")


class _Malformed:
    """Stands in for a request that did not parse, so the handler can refuse it properly."""

    def __init__(self, error: Exception):
        self.error = error


def _lenient(deserialize):
    def parse(data: bytes):
        try:
            return deserialize(data)
        except Exception as error:  # noqa: BLE001 - DecodeError, invalid UTF-8 in a string field
            return _Malformed(error)

    return parse


def _check_parsed(request) -> None:
    if isinstance(request, _Malformed):
        raise InvalidArgument("request", f"not a valid message (for example invalid UTF-8 in a text field): "
                                         f"{request.error}")


def _wrap_unary(behavior):
    async def unary(request, context):
        try:
            _check_parsed(request)
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:  # noqa: BLE001 - the boundary that maps every error
            await _abort(context, error)

    return unary


def _wrap_stream(behavior):
    async def stream(request, context):
        try:
            _check_parsed(request)
            async for item in behavior(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as error:  # noqa: BLE001
            await _abort(context, error)

    return stream


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary), request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer)
        if handler.unary_stream:
            # Streaming handlers are async generators or coroutines that call context.write
            # (as grpc's own health Watch does); each needs a wrapper of its own shape.
            wrap = _wrap_stream if inspect.isasyncgenfunction(handler.unary_stream) else _wrap_unary
            return grpc.unary_stream_rpc_method_handler(
                wrap(handler.unary_stream), request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer)
        return handler

"""Per-call context and metrics: the request id from metadata, and RPCs counted by status."""
from __future__ import annotations

import asyncio
import inspect
import logging
import time

import grpc

from . import json_logging, metrics

log = logging.getLogger(__name__)


def _method(handler_call_details) -> str:
    return handler_call_details.method.rsplit("/", 1)[-1]


def _request_id(handler_call_details) -> str:
    for key, value in handler_call_details.invocation_metadata or ():
        if key == "x-request-id":
            return value[:128]
    return ""


def _code(context, error: BaseException | None) -> str:
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED.name
    code = context.code()
    if code is None:
        return grpc.StatusCode.OK.name if error is None else grpc.StatusCode.UNKNOWN.name
    return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name


def _finished(method: str, context, error: BaseException | None, started: float) -> None:
    code = _code(context, error)
    metrics.REQUESTS.labels(method, code).inc()
    if method not in _QUIET:
        log.info("rpc finished", extra={"method": method, "code": code,
                                        "duration_ms": round((time.perf_counter() - started) * 1000, 2)})


# Polled several times a second by balancers and probes; logging them would drown the rest.
_QUIET = frozenset({"Check", "Watch", "GetLoad"})


class TelemetryInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = _method(handler_call_details)
        rid = _request_id(handler_call_details)

        coroutine = handler.unary_unary or (
            handler.unary_stream if not inspect.isasyncgenfunction(handler.unary_stream) else None)
        if coroutine:
            inner = coroutine

            async def unary(request, context):
                json_logging.request_id.set(rid)
                started, error = time.perf_counter(), None
                try:
                    return await inner(request, context)
                except BaseException as e:
                    error = e
                    raise
                finally:
                    _finished(method, context, error, started)

            make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.unary_stream_rpc_method_handler
            return make(unary, request_deserializer=handler.request_deserializer,
                        response_serializer=handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def stream(request, context):
                json_logging.request_id.set(rid)
                started, error = time.perf_counter(), None
                try:
                    async for item in inner_stream(request, context):
                        yield item
                except BaseException as e:
                    error = e
                    raise
                finally:
                    _finished(method, context, error, started)

            return grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler

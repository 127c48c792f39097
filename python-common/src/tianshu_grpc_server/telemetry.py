"""Per call: the request id (from x-request-id metadata, else a new one) for logs, and the
RPC counted by method and status code with a log line when it ends."""
from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid

import grpc
from prometheus_client import Counter

from . import json_logging

log = logging.getLogger(__name__)

# Polled several times a second by balancers and probes; logging them would drown the rest.
QUIET_METHODS = frozenset({"Check", "Watch", "GetLoad"})


def _request_id(details) -> str:
    for key, value in details.invocation_metadata or ():
        if key == "x-request-id":
            return value[:128]
    return uuid.uuid4().hex


def _status(context, error: BaseException | None) -> str:
    # A hang-up reaches a stream's handler as CancelledError when it waits inside an await, and
    # as GeneratorExit when it is parked at a yield while the server sends (the server drops the
    # generator and it is closed): the caller cancelled either way.
    if isinstance(error, (asyncio.CancelledError, GeneratorExit)) or context.cancelled():
        return grpc.StatusCode.CANCELLED.name
    code = context.code()
    if code is None:
        return grpc.StatusCode.OK.name if error is None else grpc.StatusCode.UNKNOWN.name
    return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name


class _Call:
    def __init__(self, requests: Counter, method: str, rid: str):
        self.requests, self.method, self.rid = requests, method, rid

    def begin(self) -> float:
        json_logging.request_id.set(self.rid)
        return time.perf_counter()

    def end(self, context, error: BaseException | None, started: float) -> None:
        code = _status(context, error)
        self.requests.labels(self.method, code).inc()
        if self.method not in QUIET_METHODS:
            log.info("rpc finished", extra={"method": self.method, "code": code,
                                            "duration_ms": round((time.perf_counter() - started) * 1000, 2)})


class TelemetryInterceptor(grpc.aio.ServerInterceptor):
    """`requests` is the service's counter of finished RPCs, labelled (method, code)."""

    def __init__(self, requests: Counter):
        self._requests = requests

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        call = _Call(self._requests, handler_call_details.method.rsplit("/", 1)[-1],
                     _request_id(handler_call_details))
        # Coroutine-shaped handlers: unary ones, and streams that call context.write (health Watch).
        coroutine = handler.unary_unary or (
            handler.unary_stream if not inspect.isasyncgenfunction(handler.unary_stream) else None)
        if coroutine:
            async def unary(request, context):
                started, error = call.begin(), None
                try:
                    return await coroutine(request, context)
                except BaseException as e:
                    error = e
                    raise
                finally:
                    call.end(context, error, started)

            make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.unary_stream_rpc_method_handler
            return make(unary, request_deserializer=handler.request_deserializer,
                        response_serializer=handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def stream(request, context):
                started, error = call.begin(), None
                try:
                    async for item in inner_stream(request, context):
                        yield item
                except BaseException as e:
                    error = e
                    raise
                finally:
                    call.end(context, error, started)

            return grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler

"""Per call: the request id (from x-request-id metadata, else a new one) for logs, and the
RPC counted by method and status code with a log line when it ends."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid

import grpc

from . import json_logging, metrics

log = logging.getLogger(__name__)

# Polled constantly by probes; logging them would drown everything else.
_QUIET = frozenset({"Check", "Watch"})


def _metadata(details, key: str) -> str:
    for k, value in details.invocation_metadata or ():
        if k == key:
            return value[:128]
    return ""


def _status(context, error: BaseException | None) -> str:
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED.name
    code = context.code()
    if code is None:
        return grpc.StatusCode.OK.name if error is None else grpc.StatusCode.UNKNOWN.name
    return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name


class _Call:
    def __init__(self, method: str, rid: str):
        self.method, self.rid = method, rid

    def begin(self) -> float:
        json_logging.request_id.set(self.rid)
        return time.perf_counter()

    def end(self, context, error: BaseException | None, started: float) -> None:
        code = _status(context, error)
        metrics.REQUESTS.labels(self.method, code).inc()
        if self.method not in _QUIET:
            log.info("rpc finished", extra={"method": self.method, "code": code,
                                            "duration_ms": round((time.perf_counter() - started) * 1000, 2)})


class TelemetryInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        call = _Call(handler_call_details.method.rsplit("/", 1)[-1],
                     _metadata(handler_call_details, "x-request-id") or uuid.uuid4().hex)
        if handler.unary_unary:
            inner = handler.unary_unary

            async def unary(request, context):
                started, error = call.begin(), None
                try:
                    return await inner(request, context)
                except BaseException as e:
                    error = e
                    raise
                finally:
                    call.end(context, error, started)

            return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer,
                                                       handler.response_serializer)
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

            return grpc.unary_stream_rpc_method_handler(stream, handler.request_deserializer,
                                                        handler.response_serializer)
        return handler

"""A small gRPC service for these tests, "tianshu.probe.v1.Probe", with google.protobuf's
StringValue as every request and response (no proto of its own to generate). Its methods do
what a test sets up: answer, raise a given error (at once or mid-stream), or hold a call
until released."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from prometheus_client import CollectorRegistry, Counter

from tianshu_grpc_server.serving import GrpcServer, build_server

SERVICE = "tianshu.probe.v1.Probe"


class Probe:
    def __init__(self):
        self.error: BaseException | None = None  # what the failing methods raise
        self.entered = asyncio.Event()  # Hold has a call in progress
        self.release = asyncio.Event()  # lets the held call answer
        self.pings = 0  # Ping calls the handler ran

    async def ping(self, request, context):
        self.pings += 1
        return StringValue(value=f"pong {request.value}")

    async def fail(self, request, context):
        raise self.error

    async def hold(self, request, context):
        self.entered.set()
        await self.release.wait()
        return StringValue(value="held")

    async def fail_midstream(self, request, context):
        yield StringValue(value="first")
        raise self.error

    async def endless(self, request, context):
        """Streams until the caller hangs up; with request.value "pause", it sleeps between
        messages, so a hang-up finds it inside an await rather than at a yield."""
        n = 0
        while True:
            if request.value == "pause":
                await asyncio.sleep(0.01)
            n += 1
            yield StringValue(value=str(n) * 1024)

    async def write_then_fail(self, request, context):
        """A stream written through context.write, the shape of grpc's own health Watch."""
        await context.write(StringValue(value="first"))
        raise self.error

    def add_to(self, server: grpc.aio.Server) -> None:
        def unary(behavior):
            return grpc.unary_unary_rpc_method_handler(behavior, request_deserializer=StringValue.FromString,
                                                       response_serializer=StringValue.SerializeToString)

        def stream(behavior):
            return grpc.unary_stream_rpc_method_handler(behavior, request_deserializer=StringValue.FromString,
                                                        response_serializer=StringValue.SerializeToString)

        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
            "Ping": unary(self.ping), "Fail": unary(self.fail), "Hold": unary(self.hold),
            "FailMidstream": stream(self.fail_midstream), "WriteThenFail": stream(self.write_then_fail),
            "Endless": stream(self.endless)}),))


def requests_counter() -> Counter:
    """The counter of finished RPCs a service passes to build_server, in a registry of its own."""
    return Counter("probe_requests_total", "Finished RPCs", ["method", "code"], registry=CollectorRegistry())


@contextlib.asynccontextmanager
async def probe_server(probe: Probe, requests: Counter | None = None) -> AsyncIterator[GrpcServer]:
    """The probe behind build_server on a free port, listening and NOT_SERVING; stopped after."""
    server = build_server(SERVICE, probe.add_to, requests or requests_counter(), "127.0.0.1:0", 4 * 1024 * 1024)
    await server.start_not_serving()
    try:
        yield server
    finally:
        await server.server.stop(0)


def unary(channel: grpc.aio.Channel, method: str):
    return channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=StringValue.SerializeToString,
                               response_deserializer=StringValue.FromString)


def stream(channel: grpc.aio.Channel, method: str):
    return channel.unary_stream(f"/{SERVICE}/{method}", request_serializer=StringValue.SerializeToString,
                                response_deserializer=StringValue.FromString)

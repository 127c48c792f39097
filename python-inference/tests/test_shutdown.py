"""Graceful stop on its own server: health first, new calls refused, in-flight calls
finish within the grace period or are aborted in the engine."""
from __future__ import annotations

import asyncio

import grpc
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from conftest import chat
from tianshu_inference.server import InferenceServer
from tianshu_inference.settings import InferenceSettings

GRACE = 3.0


@pytest_asyncio.fixture
async def lone_server():
    server = InferenceServer(InferenceSettings(port=0, metrics_port=0, embed_model_id="",
                                               shutdown_grace_seconds=GRACE, max_num_seqs=4))
    await server.start()
    yield server
    await server.stop()  # idempotent: the test has normally stopped it already


async def test_stop_drains_then_aborts_what_is_left(lone_server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{lone_server.port}") as channel:
        stub = pb_grpc.InferenceServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        assert (await health.read()).status == health_pb2.HealthCheckResponse.SERVING

        short = stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=8)))
        endless = stub.GenerateStream(pb.GenerateStreamRequest(generation=chat(
            "Tell a long story.", max_tokens=1500, ignore_eos=True)))
        await endless.read()
        engine = lone_server.engine

        stopping = asyncio.create_task(lone_server.stop())
        assert (await health.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        late = await _code_of(stub.Generate(pb.GenerateRequest(generation=chat("Too late?", max_tokens=4))))

        assert (await short).usage.completion_tokens > 0, "an in-flight call finishes within the grace"
        endless_code = await _drain(endless)
        await stopping

    assert late == grpc.StatusCode.UNAVAILABLE, "new calls are refused once stopping"
    assert endless_code in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    assert engine.load().running == 0 and engine.load().waiting == 0


async def _code_of(call) -> grpc.StatusCode:
    try:
        await call
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()


async def _drain(stream) -> grpc.StatusCode:
    try:
        while await stream.read() != grpc.aio.EOF:
            pass
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()

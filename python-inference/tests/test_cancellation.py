"""A caller who leaves (cancel or deadline) costs the engine nothing more."""
from __future__ import annotations

import asyncio
import time

import grpc
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import chat

# ignore_eos + a large max_tokens: this generation cannot end by itself within the test,
# so an idle engine afterwards proves the abort.
LONG = dict(max_tokens=1500, ignore_eos=True)


async def _engine_idle(stub, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        load = await stub.GetLoad(pb.GetLoadRequest())
        if load.running_requests == 0 and load.waiting_requests == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"engine still busy {within} s after the caller left: {load}")


async def test_cancelled_stream_is_aborted_in_the_engine(stub):
    call = stub.GenerateStream(pb.GenerateStreamRequest(generation=chat("Tell me a very long story.", **LONG)))
    received = 0
    async for _ in call:
        received += 1
        if received == 3:
            break
    load = await stub.GetLoad(pb.GetLoadRequest())
    assert load.running_requests == 1

    call.cancel()
    elapsed = await _engine_idle(stub, within=10)
    print(f"engine idle {elapsed * 1000:.0f} ms after cancel")


async def test_deadline_aborts_a_unary_generation(stub):
    try:
        await stub.Generate(pb.GenerateRequest(generation=chat("Tell me a very long story.", **LONG)), timeout=1.0)
        raise AssertionError("a 1500-token generation cannot finish within its 1 s deadline")
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await _engine_idle(stub, within=10)

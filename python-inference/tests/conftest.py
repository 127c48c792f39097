"""One real inference server (vLLM on CPU with the default model, real embedding model)
for the whole test session, started in-process on a free port like serve() does."""
from __future__ import annotations

import socket

import grpc
import pytest
import pytest_asyncio
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from tianshu_inference.server import InferenceServer
from tianshu_inference.settings import InferenceSettings

MODEL = "smollm2-135m-instruct"
EMBED_MODEL = "all-minilm-l6-v2"
# Small enough that the back-pressure test can fill it, large enough for the concurrency test.
MAX_NUM_SEQS = 16
MAX_WAITING = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest_asyncio.fixture(scope="session")
async def server():
    settings = InferenceSettings(port=0, metrics_port=_free_port(), max_num_seqs=MAX_NUM_SEQS,
                                 max_waiting_requests=MAX_WAITING, shutdown_grace_seconds=2)
    instance = InferenceServer(settings)
    await instance.start()
    yield instance
    await instance.stop()


@pytest_asyncio.fixture(scope="session")
async def channel(server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


@pytest.fixture
def stub(channel) -> pb_grpc.InferenceServiceStub:
    return pb_grpc.InferenceServiceStub(channel)


def chat(content: str, **sampling) -> pb.Generation:
    return pb.Generation(model=MODEL, messages=[pb.ChatMessage(role="user", content=content)],
                         sampling=pb.SamplingParams(**sampling))

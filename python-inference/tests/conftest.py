"""One real inference server (vLLM on CPU with the default model, real embedding model)
for the whole test session, started in-process on a free port like serve() does."""
from __future__ import annotations

import socket
import urllib.request

import grpc
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from tianshu_inference.server import InferenceServer
from tianshu_inference.settings import InferenceSettings

MODEL = "smollm2-135m-instruct"
EMBED_MODEL = "all-minilm-l6-v2"
# Small enough that the back-pressure test can fill it, large enough for the concurrency test.
MAX_NUM_SEQS = 16
MAX_WAITING = 16
# Batch sequences an engine step carries, and while an interactive generation runs (the
# test server narrows every step of it, so that the lane shows in what each stream receives).
BATCH_LANE_LIMIT = 6
BATCH_LANE_LIMIT_INTERACTIVE = 2
# Prompt tokens a batch-only step prefills: small, so that batch prompts are prefilled over
# several steps and the identical-results tests cover that too.
BATCH_LANE_PREFILL_TOKENS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest_asyncio.fixture(scope="session")
async def server():
    settings = InferenceSettings(port=0, metrics_port=_free_port(), max_num_seqs=MAX_NUM_SEQS,
                                 max_waiting_requests=MAX_WAITING, shutdown_grace_seconds=2,
                                 batch_lane_limit=BATCH_LANE_LIMIT,
                                 batch_lane_limit_interactive=BATCH_LANE_LIMIT_INTERACTIVE,
                                 batch_lane_narrow_during="generation",
                                 batch_lane_prefill_tokens=BATCH_LANE_PREFILL_TOKENS,
                                 # Several tests compare greedy text generated in different company
                                 # (alone, held by the lane, beside other calls): float32 keeps the
                                 # numbers the same whatever else is in the batch, where bfloat16's
                                 # rounding can tip a near tie. The host's default runs in tests/.
                                 dtype="float32")
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


def scrape(server) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.settings.metrics_port}/metrics", timeout=5) as response:
        return response.read().decode()


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text page, whatever the label order; 0 if absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0

"""The shared fixtures (tianshu_testing): one real inference server (vLLM on CPU with the
default model, real embedding model) for the whole session, started in-process on a free
port like serve() does, with the settings below; `stub` is an InferenceService stub on it."""
from __future__ import annotations

import pytest
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc
from tianshu_testing.service import ServiceUnderTest, free_port

from tianshu_inference.settings import InferenceSettings

pytest_plugins = ["tianshu_testing.plugin"]

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


@pytest.fixture(scope="session")
def inference_settings() -> InferenceSettings:
    return InferenceSettings(port=0, metrics_port=free_port(), max_num_seqs=MAX_NUM_SEQS,
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


@pytest.fixture(scope="session")
def service_under_test(inference_server) -> ServiceUnderTest:
    return ServiceUnderTest(inference_server.port, pb_grpc.InferenceServiceStub)


def chat(content: str, **sampling) -> pb.Generation:
    return pb.Generation(model=MODEL, messages=[pb.ChatMessage(role="user", content=content)],
                         sampling=pb.SamplingParams(**sampling))
ZH_EMBED_MODEL = "bge-small-zh-v1.5"

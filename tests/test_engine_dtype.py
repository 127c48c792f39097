"""The stack's inference service, on default settings, computes in the dtype chosen for this
host: bfloat16 where the CPU has bfloat16 instructions, float32 where it does not."""
from __future__ import annotations

import os
from pathlib import Path

import grpc
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from tianshu_inference import host_dtype

from conftest import MODEL


def test_the_default_engine_computes_in_the_hosts_dtype(stack):
    if setting := os.environ.get("TIANSHU_INFERENCE_DTYPE"):
        expected = setting
    else:
        expected = "bfloat16" if host_dtype.cpu_has_bfloat16(Path("/proc/cpuinfo").read_text()) else "float32"
    with grpc.insecure_channel(stack.inference_target) as channel:
        listed = pb_grpc.InferenceServiceStub(channel).ListModels(pb.ListModelsRequest(), timeout=10)
    assert {m.id: m.dtype for m in listed.models}[MODEL] == expected

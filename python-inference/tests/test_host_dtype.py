"""The dtype the engine computes in when the settings leave it to the host."""
from __future__ import annotations

import pytest
from tianshu.inference.v1 import inference_pb2 as pb

from tianshu_inference import host_dtype

AVX512_BF16_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
AVX2_CPU = "processor\t: 1\nflags\t\t: fpu sse2 avx2 fma\n"
AMX_CPU = "processor\t: 0\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"


@pytest.mark.parametrize(("cpuinfo", "expected"), [
    (AVX512_BF16_CPU, True),
    (AMX_CPU, True),
    (AVX2_CPU, False),
    # A host whose CPUs differ runs the engine's threads on any of them: all must have it.
    (AVX512_BF16_CPU + "\n" + AVX2_CPU, False),
    # No flags line (not x86, or an unreadable format): not assumed.
    ("processor\t: 0\nFeatures\t: fp asimd bf16\n", False),
    ("", False),
])
def test_bfloat16_only_where_every_cpu_computes_it(cpuinfo, expected):
    assert host_dtype.cpu_has_bfloat16(cpuinfo) is expected


def test_a_dtype_set_in_the_settings_is_used_as_given():
    assert host_dtype.engine_dtype("float32") == "float32"
    assert host_dtype.engine_dtype("auto") == "auto"


async def test_list_models_reports_the_dtype_the_engine_computes_in(stub):
    """The suite's server sets float32 (conftest.py); the card says what the engine resolved."""
    listed = await stub.ListModels(pb.ListModelsRequest())
    generation = next(m for m in listed.models if m.kind == pb.MODEL_KIND_GENERATE)
    assert generation.dtype == "float32"

"""The dtype the engine computes in when the settings leave it to the host.

On a CPU with bfloat16 instructions (AVX-512 BF16 or AMX) vLLM's CPU kernels run bfloat16
about twice as fast as float32: half the weight bytes to read every step, and dot products in
hardware. Measured on 2 cores with the default model (docs/benchmarks.md, inference section): 27.5 against 15.8
output tokens/s alone, 288 against 146 with 32 at once, and the same greedy text on the prompts
tried (it can differ after a near tie: bfloat16's rounding depends on what else is in the batch).
Without those instructions there is nothing in hardware to gain from, so other CPUs keep float32.
On a GPU the checkpoint's own dtype ("auto") is right.
"""
from __future__ import annotations

from pathlib import Path

# x86 flags in /proc/cpuinfo that mean bfloat16 arithmetic in hardware. (Arm CPUs have their own
# `bf16` feature; vLLM's Arm kernels were not measured here, so they keep float32.)
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_has_bfloat16(cpuinfo: str) -> bool:
    """Whether every CPU listed in this /proc/cpuinfo text computes bfloat16 natively."""
    flag_lines = [line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")]
    return bool(flag_lines) and all(_BF16_FLAGS & set(flags) for flags in flag_lines)


def engine_dtype(requested: str) -> str:
    """`requested` if set, else bfloat16 or float32 on CPU by its instructions, auto on GPUs."""
    if requested:
        return requested
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return "auto"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "float32"
    return "bfloat16" if cpu_has_bfloat16(cpuinfo) else "float32"

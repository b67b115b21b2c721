"""What CPU a figure was measured on: model name and the ISA features speed depends on.

Why: the same code runs 10x faster or slower by CPU (bf16 is native on some Xeons and
emulated on AVX2-only EPYCs; ONNX Runtime int8 needs VNNI to pay), so every benchmark
prints this line next to its numbers. Torch-free: the runtime benchmarks use it too.
"""

from __future__ import annotations

import platform
from pathlib import Path

# /proc/cpuinfo flags that change training or inference speed, in the order we print them
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what `platform` knows."""
    for line in _cpuinfo().splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> list[str]:
    """The speed-relevant ISA flags this CPU reports (empty where /proc/cpuinfo is missing)."""
    for line in _cpuinfo().splitlines():
        if line.lower().startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return [f for f in SPEED_FLAGS if f in have]
    return []


def describe() -> str:
    """One line for a benchmark header, e.g. 'AMD EPYC, 2 cores; avx2 (no VNNI, no native bf16)'."""
    import os

    flags = cpu_flags()
    vnni = any("vnni" in f or f == "amx_int8" for f in flags)
    bf16 = any("bf16" in f for f in flags)
    return (
        f"{cpu_model()}, {os.cpu_count()} cores; ISA {' '.join(flags) or 'unknown'} "
        f"({'VNNI' if vnni else 'no VNNI'}, {'native bf16' if bf16 else 'no native bf16'})"
    )

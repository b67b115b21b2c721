"""Training precision chosen by what the hardware can do.

Why: bf16 autocast trains 2-4x faster than float32 on CPUs with native bf16 (AVX512-BF16,
AMX), and about 10x slower where oneDNN has to emulate it (AVX2-only CPUs such as AMD EPYC
Zen 3). `bf16: auto` (the default) asks oneDNN / CUDA instead of assuming; `true` / `false`
force the choice, and a forced `true` on an emulating CPU is warned about once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from emolens.core.machine import cpu_model

log = logging.getLogger(__name__)

AUTO = "auto"


@dataclass(frozen=True)
class CpuInfo:
    model: str  # e.g. "AMD EPYC" or "Intel(R) Xeon(R) Platinum 8488C"
    capability: str  # torch's ISA level: DEFAULT, AVX2, AVX512, ...
    native_bf16: bool  # oneDNN runs bf16 kernels natively (AVX512-BF16 / AMX / AVX-NE-CONVERT)

    def describe(self) -> str:
        return f"{self.model}, {self.capability}, bf16 {'native' if self.native_bf16 else 'emulated'}"


@dataclass(frozen=True)
class Precision:
    bf16: bool
    channels_last: bool
    reason: str  # one sentence: why this choice on this device
    device: str  # what it was chosen for, e.g. "cpu (AMD EPYC, AVX2, bf16 emulated)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_info() -> CpuInfo:
    """What this CPU offers torch: ISA capability and native bf16 support (as oneDNN reports it)."""
    try:
        capability = str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        capability = "unknown"
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return CpuInfo(cpu_model(), capability, native)


def parse_bf16(value: Any) -> bool | str:
    """Config / CLI value -> True, False or 'auto' (YAML gives bools; the CLI gives strings)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == AUTO:
        return AUTO
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise ValueError(f"bf16 must be auto, true or false, got {value!r}")


def resolve(
    bf16: bool | str, channels_last: bool, device: torch.device, cpu: Callable[[], CpuInfo] | None = None
) -> Precision:
    """The precision a run on `device` trains with; `cpu` is injectable so tests can simulate a CPU."""
    bf16 = parse_bf16(bf16)
    if device.type == "cuda":
        name = f"{device} ({torch.cuda.get_device_name(device)})"
        supported = torch.cuda.is_bf16_supported()
        if bf16 == AUTO:
            why = "the GPU supports bf16" if supported else "the GPU has no bf16 support"
            return Precision(supported, channels_last, f"auto: {why}", name)
        return Precision(bool(bf16), channels_last, f"forced by the config (bf16: {str(bf16).lower()})", name)
    info = (cpu or cpu_info)()
    where = f"cpu ({info.describe()})"
    if bf16 == AUTO:
        if info.native_bf16:
            return Precision(True, channels_last, "auto: oneDNN reports native bf16 on this CPU", where)
        return Precision(
            False, channels_last, "auto: this CPU emulates bf16 (about 10x slower than float32), so float32", where
        )
    if bf16 and not info.native_bf16:
        log.warning(
            "bf16: true on a CPU without native bf16 (%s): training runs ~10x slower than float32; "
            "use bf16: auto or --bf16 false",
            info.describe(),
        )
    return Precision(bool(bf16), channels_last, f"forced by the config (bf16: {str(bf16).lower()})", where)

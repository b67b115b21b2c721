"""Training throughput (images/s) on this machine for float32 / channels_last / bf16.

    python benchmarks/bench_train.py [--config configs/default-cpu.yaml] [--batch 128] [--steps 20]
    python benchmarks/bench_train.py --config configs/fast.yaml --threads 1

Prints the CPU model, torch's ISA capability and whether oneDNN runs bf16 natively, what
`bf16: auto` picks here, then one markdown table row per setting: full training steps
(batched augmentation + forward + backward + SGD step) on random inputs of the config's
architecture, median step after warm-up. The settings run in one process, one after the
other, so their ratios are comparable even when the machine's absolute speed drifts.
"""

from __future__ import annotations

import argparse
import time

import torch

from emolens.core.labels import EMOTIONS
from emolens.train import precision
from emolens.train.augment import BatchAugment
from emolens.train.config import TrainConfig
from emolens.train.loop import soft_cross_entropy
from emolens.train.models import create_model

SETTINGS = [
    ("float32", False, False),
    ("float32 + channels_last", False, True),
    ("bf16 autocast", True, False),
    ("bf16 autocast + channels_last", True, True),
]


def bench(cfg: TrainConfig, batch: int, steps: int, bf16: bool, channels_last: bool) -> float:
    torch.manual_seed(0)
    model = create_model(cfg.model, num_classes=len(EMOTIONS), in_chans=1, **cfg.model_args)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    aug = BatchAugment(cfg.augment, len(EMOTIONS), torch.Generator().manual_seed(0))
    x = torch.randn(batch, 1, cfg.input_size, cfg.input_size)
    y = torch.randint(0, len(EMOTIONS), (batch,))
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        xb, t = aug(x, y)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(xb)
        loss = soft_cross_entropy(out, t, 0.1, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    return batch / times[len(times) // 2]  # median step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--config", default="configs/default-cpu.yaml", help="architecture and augmentation (default: %(default)s)"
    )
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument(
        "--steps", type=int, default=20, help="timed steps per setting (bf16 on an emulating CPU: ~6 s each)"
    )
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--skip", default="", help="comma list of settings to skip, e.g. bf16 (every bf16 row)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TrainConfig.load(args.config)
    info = precision.cpu_info()
    auto = precision.resolve("auto", cfg.channels_last, torch.device("cpu"))
    print(f"CPU: {info.model}; torch capability {info.capability}; oneDNN native bf16: {info.native_bf16}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.config} ({cfg.model} {cfg.model_args}), "
        f"batch {args.batch}"
    )
    print(f"bf16: auto picks {'bf16' if auto.bf16 else 'float32'} here ({auto.reason})\n")
    print("| setting | images/s | seconds per FER2013 epoch |\n|---|---|---|")
    for name, bf16, cl in SETTINGS:
        if args.skip and any(s and s in name for s in args.skip.split(",")):
            continue
        ips = bench(cfg, args.batch, args.steps, bf16, cl)
        print(f"| {name} | {ips:.0f} | {28709 / ips:.0f} |", flush=True)


if __name__ == "__main__":
    main()

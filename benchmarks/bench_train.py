"""Training throughput (images/s) on this machine for bf16 / channels_last combinations.

    python benchmarks/bench_train.py [--model vgg] [--batch 128] [--steps 20]

Times full training steps (batched augmentation + forward + backward + SGD step)
on random 48x48 inputs, after warm-up; prints one line per setting.
"""
from __future__ import annotations

import argparse
import time

import torch

from emolens.core.labels import EMOTIONS
from emolens.train.augment import AugmentConfig, BatchAugment
from emolens.train.loop import soft_cross_entropy
from emolens.train.models import create_model


def bench(model_name: str, batch: int, steps: int, bf16: bool, channels_last: bool) -> float:
    torch.manual_seed(0)
    model = create_model(model_name)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    aug = BatchAugment(AugmentConfig(), len(EMOTIONS), torch.Generator().manual_seed(0))
    x, y = torch.randn(batch, 1, 48, 48), torch.randint(0, 7, (batch,))
    times = []
    for i in range(steps + 3):
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
        if i >= 3:
            times.append(time.perf_counter() - t0)
    times.sort()
    return batch / times[len(times) // 2]  # median step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="vgg")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {args.model}, batch {args.batch}")
    for bf16, cl in [(False, False), (False, True), (True, False), (True, True)]:
        ips = bench(args.model, args.batch, args.steps, bf16, cl)
        print(f"bf16={bf16!s:<5} channels_last={cl!s:<5} {ips:7.0f} images/s  ({28709 / ips:5.0f} s per FER2013 epoch)")


if __name__ == "__main__":
    main()

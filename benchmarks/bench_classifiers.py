"""Classifier cost per face of several models side by side, against the 4 ms budget.

    python benchmarks/bench_classifiers.py default fast runs/d2-slim-distill/int8
    python benchmarks/bench_classifiers.py default exported/member1 --repeat 50 --json
    python benchmarks/bench_classifiers.py default@float default   # a folder's float and int8 graphs

Each model as the runtime runs it: batch 1 (one face), one ONNX Runtime thread, full graph
optimisation, all of its card's TTA views in one call. Measured interleaved (round-robin, medians),
so a noisy shared machine slows all of them alike: read the ratio to the first model, and scale the
absolute figures by an idle run of the first one (BENCHMARKS.md) when the machine is busy.
MODEL@float or MODEL@int8 picks a graph of a folder that holds both (default: the one the runtime
reads, int8 when there is one).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import numpy as np
from bench_int8 import session  # this folder is on sys.path when a benchmark runs

from emolens.core import machine
from emolens.core.preprocess import preprocess
from emolens.core.tta import tta_views
from emolens.inference.model_store import load_card, resolve_model_dir


def one_face_call(spec: str):
    """(a call that classifies one face with the card's TTA, the card); spec: MODEL or MODEL@PRECISION."""
    model, _, precision = spec.partition("@")
    folder = resolve_model_dir(model)
    card = load_card(folder)
    sess = session(
        folder / card.graph(precision or "auto")[0], "all"
    )  # one thread, full optimisation: as bench_int8 measures
    crop = np.random.default_rng(0).integers(0, 256, (1, 120, 120), dtype=np.uint8)
    feed = {sess.get_inputs()[0].name: np.concatenate(tta_views(preprocess(crop, card), card.tta))}
    return (lambda: sess.run(None, feed)), card


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="shipped names or model folders; the first is the reference")
    p.add_argument("--repeat", type=int, default=30, help="rounds (median reported; default: %(default)s)")
    p.add_argument("--min-ms", type=float, default=200, help="time each call for at least this long per round")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    try:
        calls = {m: one_face_call(m) for m in args.models}
    except (ValueError, FileNotFoundError) as e:
        p.error(str(e))
    times: dict[str, list[float]] = {m: [] for m in calls}
    for fn, _ in calls.values():
        fn()  # warm-up
    for _ in range(args.repeat):
        for m, (fn, _) in calls.items():
            n, t0 = 0, time.perf_counter()
            while (time.perf_counter() - t0) * 1000 < args.min_ms:
                fn()
                n += 1
            times[m].append((time.perf_counter() - t0) * 1000 / n)
    ref = statistics.median(times[args.models[0]])
    rows = {
        m: {
            "arch": card.arch,
            "tta": list(card.tta),
            "views": len(tta_views(np.zeros((1, card.channels, 4, 4), np.float32), card.tta)),
            "ms_per_face": round(statistics.median(times[m]), 3),
            "ratio_to_first": round(statistics.median(times[m]) / ref, 3),
        }
        for m, (_, card) in calls.items()
    }
    report = {"machine": f"{machine.describe()}, Python {platform.python_version()}", "models": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"machine: {report['machine']}; batch 1, 1 thread, each card's TTA")
    for m, r in rows.items():
        views = f"{r['views']} view" + ("s" if r["views"] != 1 else "")
        print(f"  {m:<40} {r['ms_per_face']:8.2f} ms  x{r['ratio_to_first']:.3f}  ({views})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

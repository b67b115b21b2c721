"""Float against int8, and ONNX Runtime's graph optimisation levels, side by side in one run.

    python benchmarks/bench_int8.py --model default --int8 exported/default-int8
    python benchmarks/bench_int8.py --model default --repeat 50 --json

For each model (the float one, and the int8 one `emolens export --int8` wrote, when given) and
each graph optimisation level (disabled, basic, extended, all: emolens' sessions use all), the
classifier's milliseconds per face at batch 1 on one thread with the card's TTA (all views in
one call, as the runtime does), and the CenterFace detector's per 640x480 frame. Peers are
measured in the same run, interleaved, so a noisy shared machine affects them alike: compare
the ratios. Accuracy is not measured here: the int8 model's card holds its agreement with float.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emolens.core import machine
from emolens.core.preprocess import preprocess
from emolens.core.tta import tta_views
from emolens.inference.detectors import create_detector
from emolens.inference.model_store import load_card, resolve_model_dir

LEVELS = ("disabled", "basic", "extended", "all")
SIZES = ((640, 480), (1280, 720))


def session(path: Path, level: str, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.graph_optimization_level = {
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def classifier_calls(model: str, levels: tuple[str, ...], precision: str = "auto") -> dict[str, Callable]:
    """{level: one call that classifies one face with the card's TTA} (precision: which graph of the folder)."""
    folder = resolve_model_dir(model)
    card = load_card(folder)
    crop = np.random.default_rng(0).integers(0, 256, (1, 120, 120), dtype=np.uint8)
    views = np.concatenate(tta_views(preprocess(crop, card), card.tta))
    calls: dict[str, Callable] = {}
    for level in levels:
        s = session(folder / card.graph(precision)[0], level)
        name = s.get_inputs()[0].name
        calls[level] = lambda s=s, name=name: s.run(None, {name: views})
    return calls


def detector_calls(levels: tuple[str, ...], size: tuple[int, int]) -> dict[str, Callable]:
    """{level: one CenterFace call on a frame of `size` (w, h)}, its own pre- and post-processing included."""
    from emolens.inference.detectors.centerface import packaged_model

    frame = np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    calls: dict[str, Callable] = {}
    for level in levels:
        det = create_detector("centerface")
        det.session = session(packaged_model(), level)  # type: ignore[attr-defined]
        calls[level] = lambda det=det: det.detect(frame)
    return calls


def interleaved(calls: dict[str, Callable], repeat: int) -> dict[str, float]:
    """Median ms per call of each, measured round-robin after one warm-up each."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeat):
        for k, fn in calls.items():
            t = time.perf_counter()
            fn()
            times[k].append((time.perf_counter() - t) * 1000)
    return {k: round(statistics.median(v), 2) for k, v in times.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="the float model (default: %(default)s)")
    p.add_argument("--int8", help="the int8 model folder `emolens export --int8` wrote (optional)")
    p.add_argument("--repeat", type=int, default=30, help="timed calls of each (median reported; default: %(default)s)")
    p.add_argument("--levels", default=",".join(LEVELS), help="graph optimisation levels (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    levels = tuple(x.strip() for x in args.levels.split(",") if x.strip())
    if not levels or not set(levels) <= set(LEVELS) or args.repeat < 1:
        p.error(f"--levels must be a comma list of {', '.join(LEVELS)}; --repeat at least 1")
    calls = {f"{args.model} {lv}": fn for lv, fn in classifier_calls(args.model, levels, "float").items()}
    if args.int8:
        calls |= {
            f"int8 {lv}": fn
            for lv, fn in classifier_calls(args.int8, levels, "int8" if args.int8 == args.model else "auto").items()
        }
    classifier = interleaved(calls, args.repeat)
    detector = {f"{w}x{h}": interleaved(detector_calls(levels, (w, h)), max(3, args.repeat // 3)) for w, h in SIZES}
    report = {
        "machine": f"{machine.describe()}, Python {platform.python_version()}",
        "onnxruntime": __import__("onnxruntime").__version__,
        "classifier_ms_per_face_batch1_1thread_tta": classifier,
        "centerface_ms_per_frame_1thread": detector,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"machine: {report['machine']}, ONNX Runtime {report['onnxruntime']}")
    print("classifier, ms per face (batch 1, 1 thread, card TTA):")
    for k, v in classifier.items():
        print(f"  {k:<28} {v:8.2f}")
    print("CenterFace, ms per frame (1 thread):")
    for size, row in detector.items():
        print(f"  {size:<10} " + "   ".join(f"{lv} {ms:.1f}" for lv, ms in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

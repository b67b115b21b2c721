"""emolens against the `fer` package on the same frames, in one run: frames/s and faces found, as ratios.

    python benchmarks/bench_vs_fer.py --fer-python /path/to/fer-venv/bin/python
    python benchmarks/bench_vs_fer.py --fer-python ~/fer-venv/bin/python --frames 60 --model fast --json
    python benchmarks/bench_vs_fer.py --fer-python ~/fer-venv/bin/python --detector liteface --mode video

`fer` needs TensorFlow, so it lives in its own environment, never in emolens' dependencies:

    python -m venv ~/fer-venv
    ~/fer-venv/bin/pip install --no-deps fer==25.10.2
    ~/fer-venv/bin/pip install tensorflow-cpu "opencv-python-headless<5" "setuptools<81" "moviepy<2" tqdm

The frames are 640x480 with 1 to 6 real faces (skimage's astronaut, mirrored every other time,
at several sizes), so every true face box is known: a face found is true when it overlaps an
unclaimed true box with IoU >= 0.4, else false. emolens runs in this process, `fer` (default
settings: OpenCV's Haar cascade) in a child process of --fer-python reading the same frames;
emolens runs before and after it (A-B-A) and its mean is reported, so a shared machine's load
weighs on both; --rounds repeats that, and the medians are reported (fps and the ratio). Each
side is warmed up on one frame before it is timed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from emolens.core import machine
from emolens.inference.analyzer import Analyzer

FER_WORKER = """
import json, sys, time
import numpy as np
from fer import FER
frames = np.load(sys.argv[1])
det = FER()
det.detect_emotions(frames[0])  # warm-up: TensorFlow builds its graph on the first call
boxes, t0 = [], time.perf_counter()
for f in frames:
    boxes.append([[float(v) for v in face["box"]] for face in det.detect_emotions(f)])
print(json.dumps({"seconds": time.perf_counter() - t0, "boxes": boxes}))
"""


def head() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A crop around the astronaut's face, and the face box inside it."""
    from skimage import data

    img = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    return np.ascontiguousarray(img[20:240, 160:300]), (22, 38, 88, 120)


def frames_with_faces(n: int, seed: int = 0) -> tuple[np.ndarray, list[list[tuple[float, ...]]]]:
    """n 640x480 BGR frames with 1..6 faces each (cycling), and their true boxes."""
    rng = np.random.default_rng(seed)
    crop, (fx, fy, fw, fh) = head()
    frames, truth = np.empty((n, 480, 640, 3), np.uint8), []
    for i in range(n):
        k = i % 6 + 1
        frames[i] = rng.integers(70, 170, size=3, dtype=np.uint8)
        boxes = []
        for j in range(k):
            scale = float(rng.uniform(0.55, 0.95))
            mirror = j % 2 == 1
            h = cv2.resize(np.ascontiguousarray(crop[:, ::-1] if mirror else crop), None, fx=scale, fy=scale)
            col, row = j % 3, j // 3
            x, y = 20 + col * 210 + int(rng.integers(0, 40)), 15 + row * 235 + int(rng.integers(0, 10))
            frames[i, y : y + h.shape[0], x : x + h.shape[1]] = h
            left = (crop.shape[1] - fx - fw) if mirror else fx
            boxes.append((x + left * scale, y + fy * scale, fw * scale, fh * scale))
        truth.append(boxes)
    return frames, truth


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / max(aw * ah + bw * bh - inter, 1e-9)


def score(found: list[list], truth: list[list]) -> dict[str, int]:
    """True faces found (each true box claimed once, IoU >= 0.4), false faces, and true faces in all."""
    true_found = false = 0
    for boxes, real in zip(found, truth):
        free = list(real)
        for b in boxes:
            best = max(free, key=lambda t: iou(b, t), default=None)
            if best is not None and iou(b, best) >= 0.4:
                free.remove(best)
                true_found += 1
            else:
                false += 1
    return {"true_faces": sum(len(t) for t in truth), "found_true": true_found, "found_false": false}


def run_ours(analyzer: Analyzer, frames: np.ndarray) -> tuple[float, list[list]]:
    analyzer.analyze(frames[0])
    t0 = time.perf_counter()
    boxes = [[list(f.box) for f in analyzer.analyze(frame)] for frame in frames]
    return time.perf_counter() - t0, boxes


def run_ours_video(analyzer: Analyzer, frames: np.ndarray) -> tuple[float, list[list]]:
    """The frames as a video through `emolens video`'s path: decode, detection and classification overlap in
    threads (inference/pipeline.py), the detector on every frame, faces tracked and smoothed."""
    from emolens.inference.stream import StreamAnalyzer, StreamOptions
    from emolens.inference.video import run_video

    def feed():
        return ((i, i / 25, f) for i, f in enumerate(frames))

    boxes: list[list] = []
    run_video(feed(), StreamAnalyzer(analyzer, StreamOptions(every=1)), max_frames=1)  # warm-up
    stream = StreamAnalyzer(analyzer, StreamOptions(every=1))
    t0 = time.perf_counter()
    run_video(feed(), stream, on_progress=lambda r: boxes.append([list(f.box) for f in r.faces]))
    return time.perf_counter() - t0, boxes


def run_fer(python: str, frames: np.ndarray) -> tuple[float, list[list]]:
    with tempfile.TemporaryDirectory(prefix="emolens-vs-fer-") as tmp:
        path = Path(tmp) / "frames.npy"
        np.save(path, frames)
        proc = subprocess.run([python, "-c", FER_WORKER, str(path)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        sys.exit(f"fer failed ({python}): {proc.stderr.strip()[-800:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["seconds"], out["boxes"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fer-python", required=True, help="the Python of an environment with fer installed")
    p.add_argument("--frames", type=int, default=30, help="640x480 frames, 1..6 faces each (default: %(default)s)")
    p.add_argument("--model", default="default", help="emolens model (default: %(default)s)")
    p.add_argument("--detector", default="centerface", help="emolens detector (default: %(default)s)")
    p.add_argument(
        "--threads", type=int, help="emolens ONNX Runtime threads (default: 2 for photo, 1 per stage for video)"
    )
    p.add_argument(
        "--mode",
        choices=("photo", "video"),
        default="photo",
        help="emolens reads each frame as a photo (Analyzer.analyze, one after the other), or the frames as a "
        "video (`emolens video`'s overlapping stages, detection on every frame) (default: %(default)s)",
    )
    p.add_argument(
        "--rounds", type=int, default=3, help="A-B-A rounds; medians of fps and of the ratio (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.frames < 1:
        p.error("--frames must be at least 1")
    frames, truth = frames_with_faces(args.frames)
    threads = args.threads or (2 if args.mode == "photo" else 1)
    analyzer = Analyzer(args.model, args.detector, threads=threads)
    ours = run_ours if args.mode == "photo" else run_ours_video
    rounds = []  # (our fps, fer's fps): each round A-B-A, so the machine's load of the moment weighs on both
    for _ in range(args.rounds):
        ours_a, boxes = ours(analyzer, frames)
        fer_s, fer_boxes = run_fer(args.fer_python, frames)
        ours_b, _ = ours(analyzer, frames)
        rounds.append((len(frames) / ((ours_a + ours_b) / 2), len(frames) / fer_s))
    ratios = [a / b for a, b in rounds]
    ours_fps, fer_fps = statistics.median(a for a, _ in rounds), statistics.median(b for _, b in rounds)
    report = {
        "machine": f"{machine.describe()}, Python {platform.python_version()}",
        "frames": len(frames),
        "emolens": {
            "model": args.model,
            "detector": args.detector,
            "mode": args.mode,
            "threads": threads,
            "fps": round(ours_fps, 2),
            **score(boxes, truth),
        },
        "fer": {"settings": "default (Haar cascade)", "fps": round(fer_fps, 2), **score(fer_boxes, truth)},
        "fps_ratio": round(statistics.median(ratios), 2),
        "fps_ratio_by_round": [round(r, 2) for r in ratios],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"machine: {report['machine']}")
    print(
        f"{len(frames)} frames 640x480, {report['emolens']['true_faces']} true faces; emolens {args.model} + "
        f"{args.detector}, {args.mode} mode, {threads} thread(s)"
    )
    for side in ("emolens", "fer"):
        r = report[side]
        print(
            f"  {side:<8} {r['fps']:7.2f} frames/s   {r['found_true']:4d} true faces found   "
            f"{r['found_false']:3d} false"
        )
    spread = f" (rounds: {', '.join(f'{r:.2f}x' for r in ratios)})" if len(ratios) > 1 else ""
    print(f"  emolens / fer frames/s: {report['fps_ratio']:.2f}x, median of {len(ratios)} round(s){spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

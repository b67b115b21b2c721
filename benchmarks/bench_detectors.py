"""Face detectors side by side: cost per frame, faces found and missed, and the emotions read from their crops.

    python benchmarks/bench_detectors.py
    python benchmarks/bench_detectors.py --fer2013 ../shared/datasets/fer2013/fer2013.zip \
        --photos ../shared/datasets/facial-expressions/facial-expressions.zip \
        --sfew ../shared/datasets/sfew-dev/sfew-dev.zip --json
    python benchmarks/bench_detectors.py --detector centerface --detector liteface=runs/liteface1/liteface.onnx

Every set is scored the same way: a found box is true when it overlaps an unclaimed true box
with IoU >= 0.4, else false.
- astronaut frames: bench_vs_fer's 640x480 frames with 1..6 faces (skimage's astronaut).
- cameraman photos: the same with skimage's cameraman (gray, a coat, a camera; his face ~10-36 px at
  640), a second person in his own scene, added in session 18.
- group photos: the detector tests' picture (the astronaut at 4 scales on a 1400x900 canvas,
  the smallest face 22x30 px) with 10 backgrounds; also found per scale.
- PublicTest upscaled (--fer2013): bench_alignment's canvases (a 48x48 face upscaled 3x on gray);
  the true box is the pasted square (the crops are tight).
- held-out real photos (--photos): the 5% of facial-expressions photos LiteFace never trained on
  (the split of scripts/train_detector.py, seed 0), truth = CenterFace's faces at score >= 0.7.
  "False" here are faces CenterFace did not keep at 0.7, so they are not all wrong.
- sfew-dev (--sfew, measurement only): the share of film frames where a face is found, and the
  whole pipeline's emotion accuracy (largest face, no face = wrong) with --model.
Speed: ms per frame at 640x480 and 1280x720 (the runtime shrinks the longer side to 640), each
detector as the runtime builds it, interleaved rounds, medians.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from bench_alignment import on_canvas  # this folder is on sys.path when a benchmark runs
from bench_vs_fer import frames_with_faces, iou, score

from emolens.core import machine
from emolens.inference.detectors import Detector, available_detectors, create_detector

ASTRONAUT_FACE = (182, 58, 88, 120)
# skimage's cameraman (gray), cropped to the man (x 100-400, y 60-360); his face in that crop (CenterFace's
# box on the full 512x512 picture, checked by eye). Not a set any setting was chosen on.
CAMERAMAN_CROP = (100, 60, 400, 360)
CAMERAMAN_FACE = (102, 59, 55, 78)
CAMERAMAN_SCALES = (0.4, 0.64, 0.96, 1.44)  # his face ~10 / 16 / 24 / 36 px once the canvas is shrunk to 640


def build(spec: str, threads: int, threshold: float | None = None, max_side: int = 640) -> tuple[str, Detector]:
    """'name' or 'name=path/to/model.onnx' -> (label, detector)."""
    name, _, path = spec.partition("=")
    kw = {"model_path": path} if path else {}
    return spec if path else name, create_detector(name, threads=threads, threshold=threshold, max_side=max_side, **kw)


def group_photos(n: int = 10, person: str = "astronaut") -> tuple[list[np.ndarray], list[list[tuple[float, ...]]]]:
    """n 1400x900 canvases with one person's photo at 4 scales (the astronaut: the detector tests' picture)."""
    from skimage import data

    if person == "astronaut":
        base, face, scales = np.ascontiguousarray(data.astronaut()[:, :, ::-1]), ASTRONAUT_FACE, (0.25, 0.4, 0.6, 0.9)
    else:
        x0, y0, x1, y1 = CAMERAMAN_CROP
        base = cv2.cvtColor(np.ascontiguousarray(data.camera()[y0:y1, x0:x1]), cv2.COLOR_GRAY2BGR)
        face, scales = CAMERAMAN_FACE, CAMERAMAN_SCALES
    images, truth = [], []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        img = np.empty((900, 1400, 3), np.uint8)
        img[:] = rng.integers(60, 200, size=3, dtype=np.uint8)
        x, boxes = 20, []
        for s in scales:
            p = cv2.resize(base, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            y = 40 + int(rng.integers(0, 900 - p.shape[0] - 40))
            img[y : y + p.shape[0], x : x + p.shape[1]] = p
            fx, fy, fw, fh = face
            boxes.append((x + fx * s, y + fy * s, fw * s, fh * s))
            x += p.shape[1] + 20
        images.append(img)
        truth.append(boxes)
    return images, truth


def publictest(path: str, n: int) -> tuple[list[np.ndarray], list[list[tuple[float, ...]]], np.ndarray, np.ndarray]:
    from emolens.datasets import read_dataset

    split = read_dataset(path, splits=("test",))["test"]
    idx = np.random.default_rng(0).choice(len(split), size=min(n, len(split)), replace=False)
    o = (256 - 144) // 2
    box = (float(o), float(o), 144.0, 144.0)  # FER2013 crops are tight: the face is the pasted square
    return [on_canvas(f) for f in split.images[idx]], [[box]] * len(idx), split.images[idx], split.labels[idx]


def held_out_photos(path: str, cache: Path) -> tuple[list[np.ndarray], list[list[tuple[float, ...]]]]:
    from emolens.train.facedet_data import label_photos, split_sources

    _, val = split_sources(label_photos(Path(path), cache), 0.05, 0)
    truth = [
        [(float(f.box[0]), float(f.box[1]), float(f.box[2] - f.box[0]), float(f.box[3] - f.box[1])) for f in s.faces]
        for s in val
    ]
    return [s.image for s in val], truth


def found_by(found: list[list], truth: list[list], buckets: list[list[str]]) -> dict[str, list[int]]:
    """Per bucket of true faces: [found, in all], matching as `score` does."""
    out: dict[str, list[int]] = {}
    for boxes, real, keys in zip(found, truth, buckets):
        free = list(range(len(real)))
        for k in keys:
            out.setdefault(k, [0, 0])[1] += 1
        for b in boxes:
            best = max(free, key=lambda i: iou(b, real[i]), default=None)
            if best is not None and iou(b, real[best]) >= 0.4:
                free.remove(best)
                out[keys[best]][0] += 1
    return out


def found_boxes(det: Detector, images: list[np.ndarray]) -> list[list[list[float]]]:
    return [[list(d.box) for d in det.detect(img)] for img in images]


def speed(dets: dict[str, Detector], rounds: int) -> dict[str, dict[str, float]]:
    frames, _ = frames_with_faces(6)
    sizes = {"640x480": list(frames), "1280x720": [cv2.resize(f, (1280, 720)) for f in frames]}
    times: dict[tuple[str, str], list[float]] = {(n, s): [] for n in dets for s in sizes}
    for det in dets.values():
        det.detect(frames[0])  # warm-up
    for _ in range(rounds):
        for size, imgs in sizes.items():
            for name, det in dets.items():
                t0 = time.perf_counter()
                for img in imgs:
                    det.detect(img)
                times[(name, size)].append((time.perf_counter() - t0) / len(imgs) * 1000)
    return {n: {s: round(statistics.median(times[(n, s)]), 2) for s in sizes} for n in dets}


def sfew(det: Detector, path: str, model: str, threads: int) -> dict[str, float]:
    """`emolens evaluate --pipeline` with this detector: the figures the table needs."""
    from emolens.evaluation.pipeline import evaluate_pipeline

    m = evaluate_pipeline(model, path, detector=det, threads=threads)
    return {k: round(float(m[k]), 4) for k in ("n", "face_found", "accuracy", "macro_f1", "accuracy_on_found")}


def _order(item: tuple[str, list[int]]) -> float:
    return float(item[0].split(" x")[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--detector", action="append", help="name or name=model.onnx (repeat; default: every registered one)"
    )
    p.add_argument("--threshold", type=float, help="score threshold for every detector (default: each one's own)")
    p.add_argument(
        "--max-side",
        type=int,
        default=640,
        help="longer side each detector shrinks a picture to (default: %(default)s, as `emolens video`)",
    )
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads per detector (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default: %(default)s)")
    p.add_argument("--fer2013", help="fer2013.zip: add the upscaled PublicTest faces")
    p.add_argument("--n", type=int, default=600, help="PublicTest faces (default: %(default)s)")
    p.add_argument("--photos", help="facial-expressions.zip: add LiteFace's held-out real photos")
    p.add_argument("--cache", default="/tmp/emolens-bench-detectors", help="where CenterFace's photo labels are cached")
    p.add_argument("--sfew", help="sfew-dev.zip: add faces found and pipeline accuracy on film frames")
    p.add_argument("--model", default="default", help="classifier for the sfew-dev pipeline (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    dets = dict(build(s, args.threads, args.threshold, args.max_side) for s in (args.detector or available_detectors()))
    sets: dict[str, tuple[list[np.ndarray], list]] = {}
    frames, truth = frames_with_faces(60)
    sets["astronaut frames"] = (list(frames), truth)
    sets["group photos"] = group_photos()
    sets["cameraman photos"] = group_photos(person="cameraman")
    if args.fer2013:
        imgs, boxes, _, _ = publictest(args.fer2013, args.n)
        sets["PublicTest upscaled"] = (imgs, boxes)
    if args.photos:
        sets["held-out real photos"] = held_out_photos(args.photos, Path(args.cache))
    report: dict = {"machine": f"{machine.describe()}, Python {platform.python_version()}", "threads": args.threads}
    buckets = {
        "group photos": [[f"astronaut x{s}" for s in (0.25, 0.4, 0.6, 0.9)] for _ in sets["group photos"][1]],
        "cameraman photos": [[f"cameraman x{s}" for s in CAMERAMAN_SCALES] for _ in sets["cameraman photos"][1]],
    }
    report["faces"], report["found_by_size"] = {}, {}
    for name, det in dets.items():
        report["faces"][name], report["found_by_size"][name] = {}, {}
        for label, (imgs, truth) in sets.items():
            found = found_boxes(det, imgs)
            report["faces"][name][label] = score(found, truth)
            if buckets.get(label):
                report["found_by_size"][name][label] = found_by(found, truth, buckets[label])
    report["ms_per_frame"] = speed(dets, args.rounds)
    if args.sfew:
        report["sfew_dev"] = {name: sfew(det, args.sfew, args.model, args.threads) for name, det in dets.items()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"machine: {report['machine']}, {args.threads} threads")
    for name in dets:
        ms = report["ms_per_frame"][name]
        print(f"{name}: {ms['640x480']:.1f} ms per 640x480 frame, {ms['1280x720']:.1f} ms per 1280x720")
        for label, r in report["faces"][name].items():
            found = f"{r['found_true']:5d} / {r['true_faces']:<5d}"
            print(f"  {label:<22} {found} true faces found  {r['found_false']:4d} false")
            by = report["found_by_size"][name].get(label)
            if by:
                print("      by size: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by.items(), key=_order)))
        if args.sfew:
            s = report["sfew_dev"][name]
            print(
                f"  sfew-dev ({args.model}): face found {s['face_found']:.1%}, accuracy {s['accuracy']:.1%}, "
                f"macro-F1 {s['macro_f1']:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runtime speed on this machine: classifier, detector, video end to end, photo folder.

    python benchmarks/bench_inference.py --model src/emolens/models/default
    python benchmarks/bench_inference.py --model default --threads 2 --json > bench.json

Inputs are generated (skimage's astronaut photo when the [dev] extra is installed,
else a synthetic frame); --folder times a folder of your own photos instead.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from emolens.core import machine
from emolens.inference.analyzer import Analyzer
from emolens.inference.classifier import Classifier
from emolens.inference.detectors import create_detector
from emolens.inference.images import IMAGE_SUFFIXES
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.video import VideoSource, run_video


def portrait() -> tuple[np.ndarray, bool]:
    """A 512x512 BGR photo with one face, and whether it is a real photo."""
    try:
        from skimage import data

        return np.ascontiguousarray(data.astronaut()[:, :, ::-1]), True
    except ImportError:
        img = np.full((512, 512, 3), 120, np.uint8)
        cv2.ellipse(img, (256, 200), (80, 110), 0, 0, 360, (150, 170, 200), -1)
        return img, False


def timed(fn, repeat: int) -> float:
    """Median milliseconds per call after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench_classifier(model: str, threads: int, repeat: int) -> dict:
    clf = Classifier(model, threads=threads)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (120, 120, 3), dtype=np.uint8) for _ in range(32)]
    one = timed(lambda: clf.predict(crops[:1]), repeat)
    many = timed(lambda: clf.predict(crops), max(3, repeat // 4))
    return {"ms_per_face_batch1": round(one, 3), "ms_per_face_batch32": round(many / 32, 3), "tta": list(clf.tta)}


def frame_with_faces(n: int, t: float = 0.0, size=(640, 480)) -> np.ndarray:
    photo, _ = portrait()
    w, h = size
    frame = np.full((h, w, 3), 90, np.uint8)
    side = 200
    small = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    for i in range(n):
        x = int(10 + i * 210 + 20 * np.sin(2 * np.pi * (t + i / 3)))
        y = int(60 + 40 * np.cos(2 * np.pi * (t + i / 5)))
        x, y = min(max(x, 0), w - side), min(max(y, 0), h - side)
        frame[y : y + side, x : x + side] = small
    return frame


def bench_detector(name: str, threads: int, repeat: int) -> dict:
    det = create_detector(name, threads=threads, max_side=640)
    frame = frame_with_faces(3)
    return {
        "detector": name,
        "ms_per_frame_640x480": round(timed(lambda: det.detect(frame), repeat), 2),
        "faces_found": len(det.detect(frame)),
    }


def bench_video(analyzer: Analyzer, frames: int, every: int, tmp: Path) -> dict:
    path = tmp / f"bench_{every}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (640, 480))
    for i in range(frames):
        writer.write(frame_with_faces(1 + (i // 25) % 3, i / frames))  # 1, 2, 3 faces in turn
    writer.release()
    with VideoSource(path) as src:
        t = time.perf_counter()
        summary = run_video(src, StreamAnalyzer(analyzer, StreamOptions(every=every)))
        dt = time.perf_counter() - t
    return {
        "every": every,
        "frames": summary.frames,
        "fps": round(summary.frames / dt, 1),
        "face_ids": len(summary.faces),
    }


def bench_folder(analyzer: Analyzer, folder: Path | None, tmp: Path, count: int) -> dict:
    if folder is None:
        folder = tmp / "photos"
        folder.mkdir()
        for i in range(count):
            size = (1280, 960) if i % 2 else (640, 480)
            img = cv2.resize(frame_with_faces(1 + i % 3), size, interpolation=cv2.INTER_LINEAR)
            cv2.imwrite(str(folder / f"photo_{i:03d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    t = time.perf_counter()
    faces = sum(len(analyzer.analyze(p)) for p in files)
    dt = time.perf_counter() - t
    return {
        "folder": str(folder),
        "images": len(files),
        "faces": faces,
        "images_per_s": round(len(files) / dt, 2) if files else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default", help="'default' or a model folder (model.onnx + card.json)")
    ap.add_argument("--detector", default="centerface")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=30, help="timed calls per micro-benchmark (median reported)")
    ap.add_argument("--video-frames", type=int, default=150)
    ap.add_argument("--folder", type=Path, help="time this folder of photos instead of generated ones")
    ap.add_argument("--photos", type=int, default=20, help="generated photos when no --folder")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    results = {
        "machine": {
            "python": platform.python_version(),
            "cpu": machine.describe(),
            "opencv": cv2.__version__,
            "threads": args.threads,
            "real_photo": portrait()[1],
        }
    }
    results["classifier"] = bench_classifier(args.model, args.threads, args.repeat)
    results["detector"] = bench_detector(args.detector, args.threads, args.repeat)
    video = Analyzer(args.model, args.detector, threads=args.threads, max_side=640)
    photos = Analyzer(args.model, args.detector, threads=args.threads, max_side=1024)
    with tempfile.TemporaryDirectory() as tmp:
        results["video"] = [bench_video(video, args.video_frames, every, Path(tmp)) for every in (1, 3)]
        results["folder"] = bench_folder(photos, args.folder, Path(tmp), args.photos)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    c, d, f = results["classifier"], results["detector"], results["folder"]
    print(f"machine: {results['machine']['cpu']}, OpenCV {cv2.__version__}, {args.threads} thread(s)")
    print(
        f"classifier: {c['ms_per_face_batch1']:.2f} ms/face at batch 1, {c['ms_per_face_batch32']:.2f} ms/face "
        f"at batch 32 ({args.threads} thread(s), tta={c['tta']})"
    )
    print(f"detector {d['detector']}: {d['ms_per_frame_640x480']:.1f} ms per 640x480 frame ({d['faces_found']} faces)")
    for v in results["video"]:
        print(
            f"video 640x480, 1-3 faces, detect every {v['every']}: {v['fps']:.1f} fps end to end "
            f"({v['frames']} frames, {v['face_ids']} face ids)"
        )
    print(f"photo folder: {f['images_per_s']} images/s ({f['images']} images, {f['faces']} faces, detect size 1024)")


if __name__ == "__main__":
    main()

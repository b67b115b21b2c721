"""LiteFace training checks: recall by face size on held-out composites, and graph time per frame.

    python benchmarks/bench_liteface.py --photos ../shared/datasets/facial-expressions/facial-expressions.zip \
        --cache runs/facedet-cache src/emolens/inference/detectors/liteface.onnx runs/liteface5/liteface.onnx

Recall: 400 pictures composed (as in training's validation: no crowds, no colour) from the 5% of
photos that training holds out (same split as scripts/train_detector.py's defaults), faces
bucketed by their shorter side; a face counts as found at IoU >= 0.4, threshold 0.5. Time: one
ONNX Runtime thread, a 640x480 input, the files interleaved for 80 rounds (median, 10th
percentile): the ratio between files is what to read on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

EDGES = (6, 10, 14, 20, 28, 40, 10_000)


def recall_by_size(files: list[Path], photos: Path, cache: Path, pictures: int) -> dict[str, dict[str, list[int]]]:
    import onnxruntime as ort

    from emolens.inference.detectors.centerface import decode
    from emolens.train.facedet import match_faces
    from emolens.train.facedet_compose import Composer
    from emolens.train.facedet_data import backgrounds, label_photos, split_sources

    _, held_out = split_sources(label_photos(photos, cache), 0.05, 0)
    composer = Composer(held_out, backgrounds(), size=256)
    rng = np.random.default_rng(1234)
    items = [composer(rng) for _ in range(pictures)]
    out = {}
    for f in files:
        sess = ort.InferenceSession(str(f), providers=["CPUExecutionProvider"])
        found, total = np.zeros(len(EDGES) - 1, int), np.zeros(len(EDGES) - 1, int)
        for img, faces in items:
            x = img[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)
            heat, size, off, lms = sess.run(None, {sess.get_inputs()[0].name: x})
            dets = decode(heat[0, 0], size[0], off[0], lms[0], 0.5, img.shape[:2])
            true = [f for f in faces if not f.ignore]
            hits = {h for h in match_faces(dets, [f.box for f in true]) if h is not None}
            for i, face in enumerate(true):
                x0, y0, x1, y1 = (float(v) for v in face.box)
                b = int(np.searchsorted(EDGES, min(x1 - x0, y1 - y0), side="right")) - 1
                if 0 <= b < len(total):
                    total[b] += 1
                    found[b] += i in hits
        out[str(f)] = {"found": found.tolist(), "faces": total.tolist()}
    return out


def graph_ms(files: list[Path], rounds: int = 80) -> dict[str, dict[str, float]]:
    import onnxruntime as ort

    x = (np.random.default_rng(0).random((1, 3, 480, 640)) * 255).astype(np.float32)
    sessions = {}
    for f in files:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sessions[str(f)] = ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(rounds):
        for k, s in sessions.items():
            t = time.perf_counter()
            s.run(None, {s.get_inputs()[0].name: x})
            times[k].append((time.perf_counter() - t) * 1000)
    return {k: {"median": float(np.median(v)), "p10": float(np.percentile(v, 10))} for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path, help="LiteFace ONNX files (CenterFace's input and outputs)")
    ap.add_argument("--photos", type=Path, help="facial-expressions.zip (recall by size; skipped without it)")
    ap.add_argument("--cache", type=Path, default=Path("runs/facedet-cache"), help="CenterFace's labels cache")
    ap.add_argument("--pictures", type=int, default=400, help="held-out composites (default: %(default)s)")
    args = ap.parse_args()
    report: dict[str, object] = {"edges_px": list(EDGES), "graph_ms_640x480_1_thread": graph_ms(args.files)}
    if args.photos is not None:
        report["recall_by_size"] = recall_by_size(args.files, args.photos, args.cache, args.pictures)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

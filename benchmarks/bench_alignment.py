"""Do the runtime's detect -> align -> crop choices match what the model was trained on?

    python benchmarks/bench_alignment.py --data ../shared/datasets/fer2013/fer2013.zip --n 600

FER2013 faces are already tight 48x48 crops. Each PublicTest face is upscaled 3x and
pasted on a larger gray canvas, so the runtime must find, align and crop it again as
it would in a photo; accuracy is compared with classifying the original crop directly
(what training and `emolens evaluate` see), for several crop margins, with and without
alignment.
"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np

from emolens.core import machine
from emolens.core.labels import EMOTIONS
from emolens.datasets import read_dataset
from emolens.inference.analyzer import Analyzer


def on_canvas(face: np.ndarray, scale: int = 3, canvas: int = 256) -> np.ndarray:
    big = cv2.resize(face, (48 * scale, 48 * scale), interpolation=cv2.INTER_CUBIC)
    out = np.full((canvas, canvas), 128, np.uint8)
    o = (canvas - big.shape[0]) // 2
    out[o : o + big.shape[0], o : o + big.shape[1]] = big
    return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="default")
    ap.add_argument("--n", type=int, default=600, help="PublicTest faces (a fixed random sample)")
    args = ap.parse_args()
    split = read_dataset(args.data, splits=("test",))["test"]
    idx = np.random.default_rng(0).choice(len(split), size=min(args.n, len(split)), replace=False)
    faces, labels = split.images[idx], split.labels[idx]
    analyzer = Analyzer(args.model, threshold=0.3, min_face=10)
    clf = analyzer.classifier
    order = [clf.labels.index(e) for e in EMOTIONS]
    direct = clf.predict(faces)[:, order].argmax(1)
    results = {
        "machine": machine.describe(),
        "model": args.model,
        "n": int(len(idx)),
        "direct_crop_accuracy": round(float((direct == labels).mean()), 4),
        "runtime": [],
    }
    canvases = [on_canvas(f) for f in faces]
    detections = [analyzer.detector.detect(c) for c in canvases]
    found = np.array([len(d) > 0 for d in detections])
    base_card = clf.card
    for align in (True, False):
        for margin in (0.0, 0.1, 0.2, 0.3):
            clf.card = base_card.with_(align=align, crop_margin=margin)
            pred = np.full(len(idx), -1)
            for i, (img, dets) in enumerate(zip(canvases, detections)):
                if dets:
                    best = max(range(len(dets)), key=lambda k: dets[k].score)
                    face = analyzer.classify([img], [[dets[best]]])[0][0]
                    pred[i] = EMOTIONS.index(face.emotion)
            acc = float((pred[found] == labels[found]).mean()) if found.any() else 0.0
            results["runtime"].append({"align": align, "crop_margin": margin, "accuracy_on_found": round(acc, 4)})
    clf.card = base_card
    results["detected"] = round(float(found.mean()), 4)
    results["card"] = {"align": base_card.align, "crop_margin": base_card.crop_margin}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

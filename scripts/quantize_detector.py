"""A static int8 copy of a shipped detector (CenterFace or LiteFace), to measure whether int8 pays for it.

    python scripts/quantize_detector.py centerface --data ../shared/datasets/fer2013/fer2013.zip \
        --out runs/centerface-int8.onnx
    python benchmarks/bench_detectors.py --detector centerface --detector centerface=runs/centerface-int8.onnx

Why a script and not `emolens export --int8`: on the CPUs measured so far int8 does not pay for either
detector (BENCHMARKS.md, "Session 18": CenterFace loses upscaled faces, LiteFace gets slower), so
nothing ships from it. Calibration frames: 640x480 crops of scikit-image's face-free pictures with 1-6
FER2013 Training faces pasted at 16-200 px (gray, as most of our training photos). The graph is
converted to opset 13 first (per-channel QDQ needs it; CenterFace's file is opset 9), then quantized by
the function `export --int8` uses (emolens.train.quantize.quantize_graph).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def frames(data: str, n: int, seed: int = 0) -> list[np.ndarray]:
    """n calibration frames (BGR 640x480): a face-free picture with 1-6 Training faces pasted on it."""
    from emolens.datasets.readers import read_dataset
    from emolens.train.facedet_data import backgrounds

    rng = np.random.default_rng(seed)
    train = read_dataset(data, "auto", splits=("train",))["train"]
    pictures = backgrounds()
    out = []
    for _ in range(n):
        frame = cv2.resize(pictures[rng.integers(len(pictures))], (640, 480), interpolation=cv2.INTER_AREA)
        for _ in range(rng.integers(1, 7)):
            side = int(rng.integers(16, 200))
            face = cv2.resize(train.images[rng.integers(len(train))], (side, side), interpolation=cv2.INTER_CUBIC)
            x, y = rng.integers(0, 640 - side), rng.integers(0, 480 - side)
            frame[y : y + side, x : x + side] = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
        out.append(frame)
    return out


def quantize(name: str, data: str, out: Path, n: int) -> None:
    import onnx
    from onnx import version_converter

    from emolens.inference.detectors.centerface import packaged_model
    from emolens.train.quantize import quantize_graph

    model = onnx.load(str(packaged_model(f"{name}.onnx")))
    if model.opset_import[0].version < 13:
        model = version_converter.convert_version(model, 13)
    input_name = model.graph.input[0].name
    feeds = (
        {input_name: cv2.cvtColor(f, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32)}
        for f in frames(data, n)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    quantize_graph(model, out, feeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("detector", choices=("centerface", "liteface"))
    ap.add_argument("--data", required=True, help="FER2013 (its Training faces are pasted into the frames)")
    ap.add_argument("--out", required=True, type=Path, help="the int8 .onnx to write")
    ap.add_argument("--frames", type=int, default=64, help="calibration frames (default: %(default)s)")
    args = ap.parse_args()
    if args.frames < 1:
        ap.error("--frames must be at least 1")
    if not Path(args.data).exists():
        ap.error(f"--data {args.data} does not exist")
    quantize(args.detector, args.data, args.out, args.frames)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

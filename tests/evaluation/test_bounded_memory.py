"""Memory that does not grow with the data: `emolens evaluate` on 20,000 crops stays under 1 GB.

The model here is tiny in compute but wide in activations (a 1x1 convolution to 32 channels at
48x48: 0.3 MB per view), so a split sent through the graph as one batch would need about 12 GB
(20,000 crops x 2 views); streamed in bounded batches it needs a few tens of MB. The peak is the
process's VmHWM, read in the child that ran the command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emolens.core.labels import EMOTIONS

from datagen import write_class_tree
from helpers import save_model

CROPS_PER_CLASS = 2858  # x 7 classes = 20,006 crops
PEAK_MB = 1024
CHANNELS = 32

RUN = """
import contextlib, io, json, sys
from emolens.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(sys.argv[1:])
peak = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")) / 1024
print(json.dumps({"rc": rc, "report": json.loads(out.getvalue()), "peak_mb": peak}))
"""


def wide_model(folder: Path) -> Path:
    """model.onnx + card.json: (N,1,48,48) -> 1x1 conv to CHANNELS -> ReLU -> global pool -> Gemm to 7 logits."""
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 1, (CHANNELS, 1, 1, 1)).astype(np.float32), "cw"),
        numpy_helper.from_array(rng.normal(0, 1, (len(EMOTIONS), CHANNELS)).astype(np.float32), "W"),
        numpy_helper.from_array(np.zeros(len(EMOTIONS), np.float32), "b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "cw"], ["wide"]),
        helper.make_node("Relu", ["wide"], ["act"]),
        helper.make_node("GlobalAveragePool", ["act"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W", "b"], ["logits"], transB=1),
    ]
    return save_model(
        folder, nodes, inits, len(EMOTIONS), name="wide", arch="wide", labels=EMOTIONS, crop_margin=0.0, tta=("flip",)
    )


@pytest.mark.slow
def test_evaluate_on_20000_crops_stays_under_1_gb(tmp_path):
    data = write_class_tree(tmp_path / "data", CROPS_PER_CLASS, splits=("test",))
    model = wide_model(tmp_path / "model")
    args = ["evaluate", "--model", str(model), "--data", str(data), "--split", "test", "--json"]
    args.append("--no-dedup-report")
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=900, cwd=Path(__file__).parents[2]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    assert run["rc"] == 0
    assert run["report"]["n"] == CROPS_PER_CLASS * len(EMOTIONS)  # every crop was scored
    assert run["peak_mb"] < PEAK_MB, run["peak_mb"]
    print(f"evaluate on {run['report']['n']} crops: peak {run['peak_mb']:.0f} MB")

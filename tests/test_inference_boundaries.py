"""The runtime never imports torch, and `import emolens` stays cheap (fresh processes)."""
from __future__ import annotations

import subprocess
import sys

RUNTIME_MODULES = [
    "emolens.inference", "emolens.inference.analyzer", "emolens.inference.video", "emolens.inference.stream",
    "emolens.inference.summary", "emolens.inference.display", "emolens.inference.detectors.centerface",
    "emolens.inference.order", "emolens.cli_infer",
]


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_runtime_and_analyze_help_do_not_import_torch():
    code = f"""
import contextlib, importlib, io, sys
import emolens, emolens.inference
for name in {RUNTIME_MODULES!r}:
    importlib.import_module(name)
from emolens.cli import main
for verb in ("analyze", "video", "webcam"):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main([verb, "--help"])
        except SystemExit:
            pass
    assert "examples:" in out.getvalue(), verb
print("torch" in sys.modules)
"""
    assert _run(code).strip() == "False"


def test_import_emolens_is_cheap_and_lazy():
    code = """
import sys, emolens
heavy = [m for m in ("cv2", "onnxruntime", "numpy", "torch") if m in sys.modules]
a = emolens.Analyzer  # resolved on first use
print(heavy, a.__module__, "onnxruntime" in sys.modules)
"""
    assert _run(code).strip() == "[] emolens.inference.analyzer False"

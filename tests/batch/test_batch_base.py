"""The base install stays free of Ray and torch: not among its requirements (nor theirs), not loaded by a job."""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from batch_helpers import make_archive

tomllib = pytest.importorskip("tomllib", reason="reads pyproject.toml with Python 3.11's tomllib")

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
HEAVY = {"ray", "torch"}


def closure(requirements: list[str]) -> set[str]:
    """Every distribution the requirements pull in, through the installed packages' own requirements
    (extras left out, markers evaluated for this interpreter)."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in md.requires(req.name) or []]
        except md.PackageNotFoundError:
            pass  # not installed here: its own requirements are unknown (the base ones all are, in CI)
    return seen


def test_the_base_install_requires_neither_ray_nor_torch_and_the_ray_extra_does():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    base = closure(project["dependencies"])
    assert {"onnxruntime", "opencv-python-headless", "pyarrow"} <= base and not base & HEAVY
    assert "ray" in closure(project["optional-dependencies"]["ray"])
    assert "torch" in {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["train"]}


def test_a_local_batch_job_loads_neither_ray_nor_torch(tmp_path):
    make_archive(tmp_path / "a", photos=1)
    code = (
        "import json, sys; from emolens.cli import main; "
        f"rc = main(['batch', {str(tmp_path / 'a' / 'photos')!r}, '--out', {str(tmp_path / 'r.parquet')!r}]); "
        "print(json.dumps([rc, 'ray' in sys.modules, 'torch' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [1, False, False]  # 1: broken.jpg is an error row

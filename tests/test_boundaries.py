"""The dependency rules as they hold at run time, in fresh interpreters: what importing a module really loads.

import-linter (pyproject.toml, run by `make test`) checks the import statements; this checks the
modules that end up loaded, a dependency's own imports included. The modules come from walking
src/emolens, so a new module is covered the day it is added: no list to keep.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import emolens
from emolens.cli.main import VERBS

# package prefix -> what none of its modules may load. Torch belongs to the [train] extra alone.
RULES = {
    "emolens": ("torch",),  # every module outside emolens.train (see runtime_modules)
    "emolens.core": ("torch", "onnxruntime", "fastapi", "starlette"),
    "emolens.inference": ("torch", "fastapi", "starlette"),
    "emolens.apps": ("torch", "onnxruntime", "fastapi", "starlette"),  # the analyser is passed in as a callable
    "emolens.apps.satisfaction": ("torch", "onnxruntime", "fastapi", "starlette", "cv2"),  # numbers only
    "emolens.evaluation": ("torch", "fastapi", "starlette"),
    "emolens.datasets": ("torch", "onnxruntime", "fastapi", "starlette"),
    "emolens.batch": ("torch", "ray", "fastapi", "starlette"),  # Ray: imported when a job asks for it, only
}
TRAINING_VERBS = ("train", "export")


def all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(emolens.__path__, "emolens."))


def runtime_modules(prefix: str) -> list[str]:
    """The modules under `prefix`, leaving out the training package (the only place torch may be)."""
    return [
        m
        for m in all_modules()
        if (m == prefix or m.startswith(prefix + "."))
        and not m.startswith("emolens.train")
        and m != "emolens.cli.__main__"
    ]


def loaded_after(code: str) -> list[str]:
    """Top-level modules in sys.modules after running `code` in a fresh interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_walk_finds_every_layer():
    names = all_modules()
    for layer in ("core", "inference", "apps", "web", "cli", "train", "evaluation", "datasets"):
        assert sum(n.startswith(f"emolens.{layer}.") for n in names) >= 3, layer
    assert len(runtime_modules("emolens")) > 100


@pytest.mark.parametrize("prefix", sorted(RULES))
def test_modules_load_only_what_their_layer_allows(prefix):
    modules = runtime_modules(prefix)
    forbidden = RULES[prefix]
    loaded = loaded_after("\n".join(f"import {m}" for m in modules))
    bad = sorted(set(loaded) & set(forbidden))
    if bad:  # name the culprits, one fresh interpreter each
        culprits = [m for m in modules if set(loaded_after(f"import {m}")) & set(bad)]
        pytest.fail(f"{', '.join(bad)} loaded by importing {', '.join(culprits)}")


def test_the_command_loads_only_the_verb_it_runs():
    """`import emolens.cli` loads no verb; a verb's --help loads its own module only, and no non-training verb
    loads torch (nor OpenCV before the command has set its pixel limit: see test_intake)."""
    assert not set(loaded_after("import emolens.cli")) & {"torch", "fastapi", "uvicorn", "onnxruntime", "cv2"}
    code = "\n".join(
        [
            "import contextlib, io, sys",
            "quiet = lambda: contextlib.redirect_stdout(io.StringIO())",
            "from emolens.cli import main",
            *[
                f"with quiet(), contextlib.suppress(SystemExit): main([{v!r}, '--help'])"
                for v in VERBS
                if v not in TRAINING_VERBS
            ],
        ]
    )
    assert "torch" not in loaded_after(code)
    assert not set(loaded_after("import emolens.cli.journal, emolens.cli.session")) & {"torch", "fastapi", "uvicorn"}


def test_data_command_does_not_import_torch(kaggle_dir, tmp_path):
    code = (
        "import sys; from emolens.cli import main; "
        f"rc = main(['data', {str(kaggle_dir)!r}, '--out', {str(tmp_path / 'r')!r}]); "
        "print(rc, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-2:] == ["0", "False"]


def test_import_emolens_is_cheap_and_lazy():
    code = """
import sys, emolens
heavy = [m for m in ("cv2", "onnxruntime", "numpy", "torch") if m in sys.modules]
a = emolens.Analyzer  # resolved on first use
print(heavy, a.__module__, "onnxruntime" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] emolens.inference.analyzer False"

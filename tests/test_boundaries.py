"""The runtime never imports torch: checked in a fresh interpreter."""
import subprocess
import sys

import pytest

TORCH_FREE = ["emolens", "emolens.core.card", "emolens.core.preprocess", "emolens.core.metrics", "emolens.datasets",
              "emolens.datasets.inspect", "emolens.inference", "emolens.inference.classifier", "emolens.evaluation",
              "emolens.cli"]


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_does_not_import_torch(module):
    code = f"import sys, importlib; importlib.import_module({module!r}); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False", f"{module} imported torch"


def test_data_command_does_not_import_torch(kaggle_dir, tmp_path):
    code = ("import sys; from emolens.cli import main; "
            f"rc = main(['data', {str(kaggle_dir)!r}, '--out', {str(tmp_path / 'r')!r}]); "
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-2:] == ["0", "False"]

"""Settings from the environment and flags, `emolens serve`, and the web package's import boundaries."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emolens.cli import main
from emolens.web.settings import Settings


def test_settings_defaults_env_and_overrides(tmp_path):
    s = Settings.from_env({})
    assert (s.host, s.port, s.model, s.detector, s.max_upload_mb) == ("127.0.0.1", 8000, "default", "centerface", 10.0)
    env = {"EMOLENS_PORT": "9001", "EMOLENS_MAX_UPLOAD_MB": "2.5", "EMOLENS_DATA_DIR": str(tmp_path),
           "EMOLENS_MODEL": "runs/x", "EMOLENS_UNRELATED": "ignored"}
    s = Settings.from_env(env)
    assert (s.port, s.max_upload_mb, s.data_dir, s.model) == (9001, 2.5, tmp_path, "runs/x")
    assert s.max_upload_bytes == int(2.5 * 2**20)
    s = Settings.from_env(env, port=9002, model=None)  # flags win; None means "not given"
    assert (s.port, s.model) == (9002, "runs/x")


@pytest.mark.parametrize("env, needle", [({"EMOLENS_PORT": "eighty"}, "EMOLENS_PORT"),
                                         ({"EMOLENS_PORT": "70000"}, "port"),
                                         ({"EMOLENS_MAX_UPLOAD_MB": "0"}, "max_upload_mb")])
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(ValueError, match=needle):
        Settings.from_env(env)


def test_serve_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "emolens serve --port 9000" in out and "--model" in out


def test_serve_reports_a_missing_model_in_one_line(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emolens serve: error: no model at") and "Traceback" not in err


def test_serve_rejects_an_unknown_detector(tiny_model, capsys):
    assert main(["serve", "--model", str(tiny_model), "--detector", "retina"]) == 2
    assert "unknown detector 'retina'" in capsys.readouterr().err


def test_web_imports_stay_light():
    """No torch anywhere in the web app; the CLI's `serve` wiring does not load FastAPI."""
    code = """
import sys, importlib
import emolens.cli, emolens.web, emolens.web.cli
light = not any(m in sys.modules for m in ("fastapi", "uvicorn", "torch", "onnxruntime"))
for name in ("emolens.web.app", "emolens.web.routers.live", "emolens.web.services.video"):
    importlib.import_module(name)
print(light, "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]


def test_services_do_not_import_fastapi():
    services = Path(__file__).resolve().parents[2] / "src" / "emolens" / "web" / "services"
    for path in services.glob("*.py"):
        text = path.read_text()
        assert "fastapi" not in text and "starlette" not in text, f"{path.name}: services are plain Python"

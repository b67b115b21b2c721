"""Settings from the environment and flags, `emolens serve`, and the web package's import boundaries."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emolens.cli import main
from emolens.web.settings import Settings


def test_settings_defaults_env_and_overrides(tmp_path):
    s = Settings.from_env({})
    # model "": not pinned, the data folder's active model (`emolens models use`; else the shipped default)
    assert (s.host, s.port, s.model, s.detector, s.max_upload_mb) == ("127.0.0.1", 8000, "", "centerface", 10.0)
    env = {
        "EMOLENS_PORT": "9001",
        "EMOLENS_MAX_UPLOAD_MB": "2.5",
        "EMOLENS_DATA_DIR": str(tmp_path),
        "EMOLENS_MODEL": "runs/x",
        "EMOLENS_UNRELATED": "ignored",
    }
    s = Settings.from_env(env)
    assert (s.port, s.max_upload_mb, s.data_dir, s.model) == (9001, 2.5, tmp_path, "runs/x")
    assert s.max_upload_bytes == int(2.5 * 2**20)
    s = Settings.from_env(env, port=9002, model=None)  # flags win; None means "not given"
    assert (s.port, s.model) == (9002, "runs/x")


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"EMOLENS_PORT": "eighty"}, "EMOLENS_PORT"),
        ({"EMOLENS_PORT": "70000"}, "port"),
        ({"EMOLENS_MAX_UPLOAD_MB": "0"}, "max_upload_mb"),
    ],
)
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(ValueError, match=needle):
        Settings.from_env(env)


def test_serve_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "emolens serve --port 9000" in out and "--model" in out


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_serve_reports_a_missing_model_in_one_line(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "nothing"), "--port", str(_free_port())]) == 2
    assert _one_line(capsys.readouterr().err).startswith("emolens serve: error: no model at")


def test_serve_rejects_an_unknown_detector(tiny_model, capsys):
    assert main(["serve", "--model", str(tiny_model), "--detector", "retina", "--port", str(_free_port())]) == 2
    assert "unknown detector 'retina'" in _one_line(capsys.readouterr().err)


def test_serve_checks_the_port_before_loading_the_model(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # the model does not exist either: the port is what the one line must be about
        assert main(["serve", "--port", str(port), "--model", str(tmp_path / "nothing")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"port {port} on 127.0.0.1 is already in use" in line and "--port" in line


def test_serve_reports_an_unusable_data_dir_in_one_line(tiny_model, tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    assert (
        main(["serve", "--model", str(tiny_model), "--port", str(_free_port()), "--data-dir", str(tmp_path / "a-file")])
        == 2
    )
    assert "cannot use the database" in _one_line(capsys.readouterr().err)


def test_serve_start_up_failures_are_one_line_from_the_real_command(tiny_model):
    """`emolens serve --detector haar` (an example in older help) used to print a 40-line traceback and exit 3."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "emolens.cli",
            "serve",
            "--model",
            str(tiny_model),
            "--detector",
            "haar",
            "--port",
            str(_free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "unknown detector 'haar'" in _one_line(proc.stderr)
    assert (
        "haar"
        not in subprocess.run(
            [sys.executable, "-m", "emolens.cli", "serve", "--help"], capture_output=True, text=True, timeout=300
        ).stdout
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_services_do_not_import_fastapi():
    services = Path(__file__).resolve().parents[2] / "src" / "emolens" / "web" / "services"
    for path in services.glob("*.py"):
        text = path.read_text()
        assert "fastapi" not in text and "starlette" not in text, f"{path.name}: services are plain Python"

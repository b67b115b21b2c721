"""`emolens journal checkin --contribute | correct | adaptation | contributions` and the active model: the CLI's side
of the feedback loop, on a tiny generated model."""

from __future__ import annotations

import json

import cv2
import pytest

from emolens.cli import main
from emolens.core.card import sha256_file

from helpers import astronaut_bgr, make_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("feedback-model"))


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMOLENS_USER", "dana")
    cv2.imwrite(str(tmp_path / "me.jpg"), astronaut_bgr())
    return tmp_path


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_contribute_correct_adapt_and_withdraw(env, model, capsys):
    photo = str(env / "me.jpg")
    rc, out, _ = run(capsys, "journal", "checkin", photo, "--model", str(model), "--contribute", "--json")
    given = json.loads(out)
    assert rc == 0 and given["contributed"] and given["model_sha256"] == sha256_file(model / "model.onnx")
    rc, out, _ = run(capsys, "journal", "checkin", photo, "--model", str(model))
    assert rc == 0 and "face crop contributed" not in out
    rc, out, _ = run(capsys, "journal", "adaptation")
    assert rc == 0 and "no corrections yet" in out
    for i in (1, 2):
        assert run(capsys, "journal", "correct", str(i), "sad")[0] == 0
    rc, out, _ = run(capsys, "journal", "adaptation", "--json")
    status = json.loads(out)
    assert status["corrections"] == 2 and status["active"] and status["evaluation"]["n"] == 2
    rc, out, _ = run(capsys, "journal", "checkin", photo, "--model", str(model), "--json")
    assert json.loads(out)["personal"] is not None  # later check-ins are adapted
    rc, out, _ = run(capsys, "journal", "adaptation", "--off")
    assert rc == 0 and "off" in out and "rests on 2 correction(s)" in out
    rc, out, _ = run(capsys, "journal", "checkin", photo, "--model", str(model), "--json")
    assert json.loads(out)["personal"] is None
    rc, out, _ = run(capsys, "journal", "adaptation", "--reset", "--json")
    assert json.loads(out)["corrections"] == 0 and json.loads(out)["enabled"] is False
    rc, out, _ = run(capsys, "journal", "contributions")
    assert rc == 0 and "#1" in out and "sad" in out
    rc, out, _ = run(capsys, "journal", "contributions", "--json")
    (c,) = json.loads(out)
    assert c["size"] == [48, 48] and c["used_for_training"]
    rc, _, err = run(capsys, "journal", "contributions", "--delete", "99")
    assert rc == 2 and "no contribution 99 for dana" in err
    assert run(capsys, "journal", "contributions", "--delete", str(c["id"]))[0] == 0
    rc, out, _ = run(capsys, "journal", "contributions")
    assert "contributed no face crops" in out


def test_a_mood_cannot_contribute(env, capsys):
    rc, _, err = run(capsys, "journal", "checkin", "--mood", "happy", "--contribute")
    assert rc == 2 and "--contribute" in err and "Traceback" not in err


def test_journal_reads_with_the_active_model(env, model, capsys):
    data = env / "data"
    assert run(capsys, "models", "use", str(model), "--name", "tiny", "--data-dir", str(data))[0] == 0
    rc, out, _ = run(capsys, "journal", "checkin", str(env / "me.jpg"), "--json")
    assert rc == 0 and json.loads(out)["model_sha256"] == sha256_file(model / "model.onnx")
    rc, out, _ = run(capsys, "models", "list", "--data-dir", str(data))
    line = next(line for line in out.splitlines() if " tiny " in line)
    assert line.startswith("*") and "installed" in line
    rc, out, _ = run(capsys, "models", "rollback", "--data-dir", str(data))
    assert rc == 0 and "active: default" in out
    rc, _, err = run(capsys, "models", "rollback", "--data-dir", str(data))
    assert rc == 2 and "nothing to roll back to" in err
    rc, _, err = run(capsys, "models", "use", "nosuch", "--data-dir", str(data))
    assert rc == 2 and "no model called 'nosuch'" in err

"""`emolens journal ...` on a tiny generated model: check in, calibrate, summary, list, correct, export, delete."""

from __future__ import annotations

import csv
import io
import json

import cv2
import numpy as np
import pytest

from emolens.cli import main

from helpers import astronaut_bgr, crowded_group_photo, make_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("journal-model"))


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMOLENS_USER", "dana")
    cv2.imwrite(str(tmp_path / "me.jpg"), astronaut_bgr())
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((100, 100, 3), 200, np.uint8))
    return tmp_path


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["journal", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_checkin_summary_correct_export_delete(env, model, capsys):
    rc, out, _ = run(
        capsys,
        "checkin",
        str(env / "me.jpg"),
        "--model",
        str(model),
        "--note",
        "first",
        "--tags",
        "work,sleep",
        "--json",
    )
    assert rc == 0
    photo = json.loads(out)
    assert photo["source"] == "photo" and photo["has_image"] is False and photo["tags"] == ["sleep", "work"]
    assert not (env / "data" / "journal").exists()  # no image kept
    rc, out, _ = run(capsys, "checkin", "--mood", "sad", "--note", "rough morning")
    assert rc == 0 and out.startswith("saved for dana: #2") and "manual: sad" in out
    rc, out, _ = run(capsys, "calibrate", str(env / "me.jpg"), str(env / "me.jpg"), "--model", str(model))
    assert rc == 0 and "baseline of dana from 2 photo(s)" in out
    rc, out, _ = run(capsys, "checkin", str(env / "me.jpg"), "--model", str(model), "--keep-image")
    assert rc == 0 and "photo kept" in out and "relative to your baseline" in out
    assert len(list((env / "data" / "journal").rglob("*.jpg"))) == 1
    rc, out, _ = run(capsys, "correct", "2", "neutral")
    assert rc == 0 and "neutral (corrected; read as sad)" in out
    rc, out, _ = run(capsys, "summary", "--days", "7")
    assert rc == 0 and "3 check-ins on 1 days" in out and "Happiness" in out and "not a medical device" in out
    rc, out, _ = run(capsys, "summary", "--json")
    assert json.loads(out)["checkins"] == 3
    rc, out, _ = run(capsys, "list", "--limit", "2")
    assert rc == 0 and out.splitlines()[0].startswith("#3")
    rc, out, _ = run(capsys, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["final_emotion"] for r in rows][1] == "neutral" and rows[0]["note"] == "first"
    rc, _, err = run(capsys, "export", "--out", str(env / "all.json"))
    assert rc == 0 and json.loads((env / "all.json").read_text())["user"]["username"] == "dana"
    assert oct((env / "all.json").stat().st_mode & 0o777) == "0o600"
    rc, out, _ = run(capsys, "delete", "3")
    assert rc == 0 and list((env / "data" / "journal").rglob("*.jpg")) == []
    rc, _, err = run(capsys, "delete-account")
    assert rc == 2 and "--yes" in err
    rc, out, _ = run(capsys, "delete-account", "--yes")
    assert rc == 0 and "deleted the account dana" in out


def test_group_photo_checkin_says_the_largest_face_was_used(env, model, capsys):
    cv2.imwrite(str(env / "group.png"), crowded_group_photo()[0])
    rc, out, _ = run(capsys, "checkin", str(env / "group.png"), "--model", str(model))
    assert rc == 0 and f"{env / 'group.png'}: 6 faces found, used the largest" in out
    rc, out, _ = run(capsys, "checkin", str(env / "group.png"), "--model", str(model), "--json")
    assert json.loads(out)["notice"] == "6 faces found, used the largest"


def test_calibrating_with_a_smile_warns(env, capsys):
    """The shipped model reads the astronaut's smile as happy: not a resting face."""
    rc, out, err = run(capsys, "calibrate", str(env / "me.jpg"))
    assert rc == 0 and "resting face reads happy" in out
    assert "warning: your resting face reads happy" in err and "calibrate again" in err


@pytest.mark.parametrize(
    "verb", ["list", "correct", "delete", "export", "password", "delete-account", "adaptation", "contributions"]
)
def test_every_leaf_verb_has_examples(verb, capsys):
    with pytest.raises(SystemExit):
        main(["journal", verb, "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and f"emolens journal {verb}" in out
    if verb == "list":
        assert "newest N check-ins" in out and "JSON list" in out  # --limit and --json say what they do


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["checkin"], "give a PHOTO or --mood"),
        (["checkin", "--mood", "elated"], "unknown mood"),
        (["checkin", "nope.jpg"], "no such file"),
        (["correct", "99", "happy"], "no check-in 99 for dana"),
        (["correct", "1", "meh"], "no check-in 1"),
    ],
)
def test_errors_are_one_line(env, capsys, argv, needle):
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and needle in err and "Traceback" not in err


def test_no_face_names_the_fix(env, model, capsys):
    rc, _, err = run(capsys, "checkin", str(env / "wall.png"), "--model", str(model))
    assert rc == 2 and "no face found" in err and "picking a mood" in err


def test_users_keep_separate_journals(env, capsys):
    run(capsys, "checkin", "--mood", "happy", "--user", "erin")
    rc, out, _ = run(capsys, "list")
    assert rc == 0 and "no check-ins for dana yet" in out

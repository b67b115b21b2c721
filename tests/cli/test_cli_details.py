"""CLI details a new user hits: which split `evaluate` takes, where its reports go, progress bars in pipes,
error lines that name a file once. Runs on generated data and a tiny ONNX model (no torch needed)."""

from __future__ import annotations

import json

import pytest

from emolens.cli import main

from datagen import write_class_tree
from helpers import make_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


def _evaluate(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["evaluate", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_evaluate_takes_the_only_split_of_a_class_folder_set(model, tmp_path, capsys):
    data = write_class_tree(tmp_path / "faces", per_class=2, splits=("",))  # faces/<class>/*.png
    rc, out, err = _evaluate(capsys, "--model", str(model), "--data", str(data), "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["split"] == "all" and report["n"] == 14


def test_evaluate_takes_a_folder_of_privatetest_files(model, tmp_path, capsys):
    data = write_class_tree(tmp_path / "private", per_class=2, splits=("test",), prefix="PrivateTest")
    rc, out, err = _evaluate(capsys, "--model", str(model), "--data", str(data), "--json")
    assert rc == 0, err
    assert json.loads(out)["split"] == "private"


def test_several_splits_without_test_are_listed(model, tmp_path, capsys):
    data = write_class_tree(tmp_path / "two", per_class=1, splits=("train",))
    write_class_tree(data, per_class=1, splits=("test",), prefix="PrivateTest")  # train + private
    rc, _, err = _evaluate(capsys, "--model", str(model), "--data", str(data))
    assert rc == 2 and "has several splits (private, train): choose one with --split" in err
    rc, out, err = _evaluate(capsys, "--model", str(model), "--data", str(data), "--split", "private", "--json")
    assert rc == 0 and json.loads(out)["split"] == "private"
    both = write_class_tree(tmp_path / "kaggle", per_class=1)  # train + test: PublicTest, as before
    rc, out, _ = _evaluate(capsys, "--model", str(model), "--data", str(both), "--json")
    assert rc == 0 and json.loads(out)["split"] == "test"


def test_evaluate_writes_reports_only_when_asked(model, tmp_path, capsys, monkeypatch):
    data = write_class_tree(tmp_path / "kaggle", per_class=1)
    monkeypatch.chdir(tmp_path)
    rc, out, _ = _evaluate(capsys, "--model", str(model), "--data", str(data))
    assert rc == 0 and not (tmp_path / "reports").exists(), "nothing written into the current folder unasked"
    assert "reports: none written (pass --out DIR" in out
    rc, out, _ = _evaluate(capsys, "--model", str(model), "--data", str(data), "--out", str(tmp_path / "eval"))
    assert rc == 0 and f"reports: {tmp_path / 'eval' / 'metrics.json'}" in out
    assert (tmp_path / "eval" / "metrics.json").is_file()


def test_data_draws_no_progress_bars_into_files_and_pipes(tmp_path, capsys, monkeypatch):
    from emolens.datasets import readers

    monkeypatch.setattr(readers, "PROGRESS_MIN", 1)  # a bar for every split, on a terminal
    data = write_class_tree(tmp_path / "kaggle", per_class=3)
    assert main(["data", str(data), "--out", str(tmp_path / "grids")]) == 0
    out, err = capsys.readouterr()  # pytest's capture is not a terminal, like a file or a pipe
    assert "decode" not in err and "\r" not in err and "it/s" not in err and "img/s" not in err
    assert "exact duplicates" in out


def test_video_errors_name_the_file_once(tmp_path, capsys, model):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 4000)
    assert main(["video", str(bad), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("emolens video: error:"))
    assert line.count("x.mp4") == 1 and "could not be opened" in line
    assert (
        main(
            [
                "session",
                "analyze",
                str(bad),
                "--location",
                "a",
                "--agent",
                "b",
                "--model",
                str(model),
                "--data-dir",
                str(tmp_path / "d"),
            ]
        )
        == 2
    )
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("emolens session: error:"))
    assert line.count("x.mp4") == 1


@pytest.mark.parametrize(
    "exc, shown",
    [
        (PermissionError(13, "Permission denied", "/srv/out"), "Permission denied: /srv/out"),
        (FileExistsError(17, "File exists", "runs/x"), "File exists: runs/x"),
        (OSError(28, "No space left on device"), "No space left on device"),
    ],
)
def test_os_errors_of_any_verb_are_one_line_not_a_traceback(exc, shown, capsys):
    import argparse

    from emolens.cli.main import run

    def handler(args):
        raise exc

    assert run(argparse.Namespace(command="export", handler=handler)) == 2
    err = capsys.readouterr().err
    assert err == f"emolens export: error: {shown}\n"

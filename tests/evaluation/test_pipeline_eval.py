"""`emolens evaluate --pipeline`: whole photos in class folders through the runtime, no face = wrong."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from emolens.cli import main
from emolens.evaluation.pipeline import NO_FACE, evaluate_pipeline, pipeline_metrics

from datagen import zip_tree
from helpers import astronaut_bgr, make_tiny_model


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """happy/ 3 photos of a face, sad/ 2 photos of a face, neutral/ 2 photos without a face."""
    root = tmp_path_factory.mktemp("photos") / "set"
    face = cv2.resize(astronaut_bgr(), (256, 256), interpolation=cv2.INTER_AREA)
    for cls, n, img in (("happy", 3, face), ("sad", 2, face), ("neutral", 2, np.full((200, 200, 3), 90, np.uint8))):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / cls / f"{i}.png"), img)
    return root


@pytest.fixture(scope="module")
def happy_model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("happy"), bias={"happy": 60.0})


def test_every_photo_counts_and_no_face_is_wrong(photos, happy_model):
    r = evaluate_pipeline(happy_model, photos)
    assert r["n"] == 7
    assert r["accuracy"] == pytest.approx(3 / 7)  # the happy photos; sad ones read happy; no face is wrong
    assert r["face_found"] == pytest.approx(5 / 7)
    assert r["accuracy_on_found"] == pytest.approx(3 / 5)
    assert r["recall"]["happy"] == 1.0 and r["recall"]["sad"] == 0.0 and r["recall"]["neutral"] == 0.0
    cols = r["confusion_columns"]
    neutral_row = r["confusion"][r["labels"].index("neutral")]
    assert neutral_row[cols.index(NO_FACE)] == 2
    assert r["macro_f1"] > 0 and r["model"]["name"] == "tiny"


def test_a_zip_and_the_cli_give_the_same_figures(photos, happy_model, tmp_path, capsys):
    z = zip_tree(photos, tmp_path / "set.zip", wrapper="sfew/")
    code = main(
        [
            "evaluate",
            "--model",
            str(happy_model),
            "--data",
            str(z),
            "--pipeline",
            "--json",
            "--out",
            str(tmp_path / "rep"),
        ]
    )
    assert code == 0
    r = json.loads(capsys.readouterr().out)
    assert r["accuracy"] == pytest.approx(3 / 7) and r["n"] == 7
    assert (tmp_path / "rep" / "pipeline.json").is_file() and (tmp_path / "rep" / "pipeline-confusion.csv").is_file()
    assert main(["evaluate", "--model", str(happy_model), "--data", str(z), "--pipeline"]) == 0
    table = capsys.readouterr().out
    assert "face found 0.714" in table and "accuracy 0.4286" in table


def test_an_unknown_class_folder_is_a_clear_error(tmp_path, happy_model, capsys):
    (tmp_path / "bad" / "grumpy").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "bad" / "grumpy" / "0.png"), np.zeros((20, 20, 3), np.uint8))
    assert main(["evaluate", "--model", str(happy_model), "--data", str(tmp_path / "bad"), "--pipeline"]) == 2
    assert "label map" in capsys.readouterr().err


def test_metrics_count_a_label_the_dataset_lacks_as_wrong():
    labels = ("happy", "sad")
    probs = np.array([[1, 0], [0, 1], [0, 0]], np.float32)
    r = pipeline_metrics(["happy", "sad", "sad"], ["happy", "contempt", NO_FACE], probs, labels)
    assert r["accuracy"] == pytest.approx(1 / 3) and r["face_found"] == pytest.approx(2 / 3)

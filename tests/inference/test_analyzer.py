"""The Analyzer API and `emolens analyze`, on a tiny generated model."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

import emolens
from emolens.cli import main
from emolens.core.labels import EMOTIONS
from emolens.core.results import Face
from emolens.inference.images import ImageError

from helpers import astronaut_bgr, group_photo, make_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    return emolens.Analyzer(tiny_model)


def test_faces_in_group_photo(analyzer):
    img, truth = group_photo()
    faces = analyzer.analyze(img)
    assert len(faces) == len(truth)
    for f in faces:
        assert isinstance(f, Face)
        assert set(f.probabilities) == set(analyzer.labels)
        assert abs(sum(f.probabilities.values()) - 1) < 1e-4
        assert f.emotion == max(f.probabilities, key=f.probabilities.get)
        assert f.uncertain == (f.confidence < analyzer.card.uncertain_below)
        assert all(isinstance(v, int) for v in f.box)
    smallest = min(faces, key=lambda f: f.box[2])
    assert smallest.quality.tiny and "tiny" in smallest.quality.flags


def test_results_serialise_to_json(analyzer):
    faces = analyzer.analyze(astronaut_bgr())
    doc = json.loads(json.dumps([f.to_dict() for f in faces]))
    assert doc[0]["box"].keys() == {"x", "y", "w", "h"}
    assert doc[0]["emotion"] in analyzer.labels and len(doc[0]["landmarks"]) == 5


def test_one_shape_contract_for_paths_bytes_and_arrays(analyzer, tmp_path):
    img = astronaut_bgr()
    cv2.imwrite(str(tmp_path / "a.png"), img)
    by_array = analyzer.analyze(img)
    by_rgb = analyzer.analyze(img[:, :, ::-1].copy(), rgb=True)
    by_path = analyzer.analyze(tmp_path / "a.png")
    by_bytes = analyzer.analyze((tmp_path / "a.png").read_bytes())
    batch = analyzer.analyze_batch([img, str(tmp_path / "a.png"), np.full((200, 200, 3), 90, np.uint8)])
    assert [len(b) for b in batch] == [1, 1, 0]
    for faces in (by_rgb, by_path, by_bytes, batch[0], batch[1]):
        assert faces[0].box == by_array[0].box
        assert faces[0].probabilities == pytest.approx(by_array[0].probabilities, abs=1e-5)


def test_bad_image_raises_image_error(analyzer, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(ImageError, match="x.jpg"):
        analyzer.analyze(tmp_path / "x.jpg")


def test_cli_analyze_json_csv_annotate(tiny_model, tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "group.jpg"), group_photo()[0])
    cv2.imwrite(str(folder / "sub" / "one.png"), astronaut_bgr())
    cv2.imwrite(str(folder / "blank.png"), np.full((100, 100, 3), 50, np.uint8))
    (folder / "broken.jpg").write_bytes(b"")
    rc = main(["analyze", str(folder), "--model", str(tiny_model), "--json"])
    out, err = capsys.readouterr()
    assert rc == 1 and "broken.jpg" in err and "Traceback" not in err
    doc = json.loads(out)
    by_name = {r["image"].rsplit("/", 1)[-1]: r for r in doc}
    assert len(by_name["group.jpg"]["faces"]) == 4 and len(by_name["one.png"]["faces"]) == 1
    assert by_name["blank.png"]["faces"] == [] and "empty" in by_name["broken.jpg"]["error"]

    rc = main(
        [
            "analyze",
            str(folder / "group.jpg"),
            str(folder / "sub"),
            "--model",
            str(tiny_model),
            "--csv",
            str(tmp_path / "f.csv"),
            "--annotate",
            str(tmp_path / "ann"),
        ]
    )
    out, _ = capsys.readouterr()
    assert rc == 0 and "group.jpg" in out and "emotion" in out
    rows = list(csv.DictReader(open(tmp_path / "f.csv")))
    assert len(rows) == 5 and {r["emotion"] for r in rows} <= set(EMOTIONS)
    assert all(float(r["confidence"]) == max(float(r[k]) for k in EMOTIONS) for r in rows)
    assert (tmp_path / "ann" / "group.jpg").is_file() and (tmp_path / "ann" / "sub" / "one.png").is_file()


def test_cli_analyze_usage_errors(tiny_model, tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nothing"), "--model", str(tiny_model)]) == 2
    cv2.imwrite(str(tmp_path / "a.png"), astronaut_bgr())
    assert main(["analyze", str(tmp_path), "--model", str(tmp_path / "no-model")]) == 2
    assert main(["analyze", str(tmp_path / "a.png"), "--model", str(tiny_model), "--detector", "retina"]) == 2
    err = capsys.readouterr().err
    assert "nothing to analyse" in err and "no model" in err and "unknown detector" in err
    assert "Traceback" not in err


def test_a_video_frame_reads_faces_as_a_photo_does(analyzer):
    """Crop -> predict -> Face is one step (Analyzer.crops_and_probs): a stream's first frame, unsmoothed,
    gives the photo path's faces."""
    from emolens.inference.stream import StreamAnalyzer, StreamOptions

    img, _ = group_photo()
    photo = {f.box: f for f in analyzer.analyze(img)}
    frame = StreamAnalyzer(analyzer, StreamOptions(alpha=1.0)).process(img, 0, 0.0)
    assert len(frame.faces) == len(photo) >= 2
    for f in frame.faces:
        same = photo[f.box]
        assert f.emotion == same.emotion and f.quality == same.quality and f.track_id is not None
        assert f.probabilities == pytest.approx(same.probabilities, abs=1e-6)

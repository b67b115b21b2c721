"""Faces numbered in reading order everywhere, and labels that never overlap (CLI table, --annotate, API)."""

from __future__ import annotations

import json
import random

import cv2
import numpy as np
import pytest

import emolens
from emolens.cli import main
from emolens.core.results import Face, Quality
from emolens.inference.draw import COLOURS, annotate, face_label, place_labels
from emolens.inference.order import reading_order

from helpers import crowded_group_photo, iou, make_tiny_model


def overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_reading_order_rows_then_columns():
    # a row with jittered heights, then a second row; given in a scrambled (score) order
    boxes = [
        (300, 210, 60, 70),
        (10, 20, 50, 60),
        (150, 5, 55, 65),
        (20, 220, 60, 75),
        (290, 30, 50, 60),
        (160, 200, 62, 80),
    ]
    order = reading_order(boxes)
    assert [boxes[i][:2] for i in order] == [(10, 20), (150, 5), (290, 30), (20, 220), (160, 200), (300, 210)]
    for _ in range(20):  # the numbering depends on where faces are, never on the order they came in
        shuffled = random.Random(_).sample(boxes, len(boxes))
        assert [shuffled[i] for i in reading_order(shuffled)] == [boxes[i] for i in order]
    assert reading_order([]) == []


def test_a_face_between_rows_joins_the_row_its_centre_is_in():
    boxes = [(0, 0, 100, 100), (200, 40, 100, 100), (100, 160, 100, 100)]
    assert reading_order(boxes) == [0, 1, 2]  # 40 px lower is still row 1; 160 px lower is row 2


def test_analyzer_numbers_the_group_photo_left_to_right_top_to_bottom(tiny_model):
    img, truth = crowded_group_photo()
    analyzer = emolens.Analyzer(tiny_model)
    faces = analyzer.analyze(img)
    assert len(faces) == 6
    assert [max(range(6), key=lambda t: iou(f.box, truth[t])) for f in faces] == list(range(6))
    scores = [f.score for f in faces]
    assert scores != sorted(scores, reverse=True), "the photo must not already be in score order"
    assert [f.box for f in analyzer.analyze(img)] == [f.box for f in faces]  # stable between runs


def test_cli_table_and_json_use_reading_order(tiny_model, tmp_path, capsys):
    img, truth = crowded_group_photo()
    cv2.imwrite(str(tmp_path / "group.png"), img)
    assert main(["analyze", str(tmp_path / "group.png"), "--model", str(tiny_model)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [r[1] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    table_boxes = [tuple(int(v) for v in r[2].split(",")) for r in rows]
    assert [max(range(6), key=lambda t: iou(b, truth[t])) for b in table_boxes] == list(range(6))
    assert main(["analyze", str(tmp_path / "group.png"), "--model", str(tiny_model), "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)[0]["faces"]
    assert [tuple(f["box"].values()) for f in faces] == table_boxes


def _face(box, emotion="happy", conf=0.88, uncertain=False) -> Face:
    q = Quality(tiny=False, blurry=False, dark=False, sharpness=100.0, brightness=120.0)
    return Face(
        box=box,
        score=0.9,
        landmarks=None,
        probabilities={emotion: conf},
        emotion=emotion,
        confidence=conf,
        uncertain=uncertain,
        quality=q,
    )


def test_labels_never_overlap_on_the_group_photo():
    img, truth = crowded_group_photo()
    height, width = img.shape[:2]
    boxes = [tuple(round(v) for v in b) for b in truth]
    sizes = [(72, 17)] * 6  # "6 happy 88%": wider than the gaps between faces, "above each box" would collide
    naive = [(x, y - 17, 72, 17) for x, y, _, _ in boxes]
    assert any(overlap(a, b) for i, a in enumerate(naive) for b in naive[i + 1 :])
    rects = place_labels(boxes, sizes, width, height)
    assert not any(overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    for x, y, w, h in rects:
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    for r, b in zip(rects, boxes):  # with room to spare, no label covers another face
        assert not any(overlap(r, o) for o in boxes if o != b)


@pytest.mark.parametrize("seed", range(5))
def test_labels_never_overlap_in_a_crowd(seed):
    rng = np.random.default_rng(seed)
    boxes = [(int(x), int(y), 40, 48) for x, y in rng.integers(0, [600, 430], size=(25, 2))]
    rects = place_labels(boxes, [(110, 16)] * len(boxes), 640, 480)
    assert not any(overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_annotate_draws_each_numbered_label_where_it_was_placed():
    img, truth = crowded_group_photo()
    faces = [_face(tuple(round(v) for v in b), emotion=e) for b, e in zip(truth, ["happy", "sad", "angry"] * 2)]
    out = annotate(np.zeros_like(img), faces)  # black: every coloured pixel is the drawing
    thick = max(1, round(max(img.shape[:2]) / 500))
    font = 0.4 + 0.1 * thick
    sizes = []
    for i, f in enumerate(faces, 1):
        (tw, th), base = cv2.getTextSize(face_label(f, i), cv2.FONT_HERSHEY_SIMPLEX, font, 1)
        sizes.append((tw + 4, th + base + 4))
    rects = place_labels([f.box for f in faces], sizes, img.shape[1], img.shape[0])
    assert face_label(faces[2], 3) == "3 angry 88%"
    for (x, y, w, h), f in zip(rects, faces):
        assert tuple(out[y, x]) == COLOURS[f.emotion]  # the label's corner is the label's colour
        assert tuple(out[y + h - 1, x + w - 1]) == COLOURS[f.emotion]


def test_cli_annotate_says_where_it_wrote(tiny_model, tmp_path, capsys):
    img, _ = crowded_group_photo()
    cv2.imwrite(str(tmp_path / "group.jpg"), img)
    assert (
        main(
            [
                "analyze",
                str(tmp_path / "group.jpg"),
                "--model",
                str(tiny_model),
                "--json",
                "--annotate",
                str(tmp_path / "ann"),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    json.loads(out)  # stdout stays one JSON document
    assert f"wrote {tmp_path / 'ann' / 'group.jpg'}" in err and (tmp_path / "ann" / "group.jpg").is_file()
    cv2.imwrite(str(tmp_path / "b.png"), img[:, ::-1])
    assert (
        main(
            [
                "analyze",
                str(tmp_path / "group.jpg"),
                str(tmp_path / "b.png"),
                "--model",
                str(tiny_model),
                "--annotate",
                str(tmp_path / "ann2"),
            ]
        )
        == 0
    )
    assert f"wrote 2 annotated image(s) to {tmp_path / 'ann2'}" in capsys.readouterr().err

"""`emolens video` / `webcam` end to end on a generated clip, plus tracker and summary units."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import cv2
import numpy as np
import pytest

from emolens.cli import main
from emolens.inference.detectors.base import Detection
from emolens.inference.tracking import Tracker

from helpers import iou, make_tiny_model, moving_faces_video

FRAMES = 24


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return moving_faces_video(tmp_path_factory.mktemp("video") / "clip.mp4", frames=FRAMES)


def _timeline(path):
    tracks = defaultdict(list)
    for row in csv.DictReader(open(path)):
        tracks[int(row["face_id"])].append(row)
    return tracks


def test_video_outputs_and_stable_ids(tiny_model, clip, tmp_path, capsys):
    out, tl, summ = tmp_path / "annotated.mp4", tmp_path / "timeline.csv", tmp_path / "summary.json"
    rc = main(
        [
            "video",
            str(clip),
            "--model",
            str(tiny_model),
            "--out",
            str(out),
            "--timeline",
            str(tl),
            "--summary",
            str(summ),
        ]
    )
    assert rc == 0
    assert "2 face id(s)" in capsys.readouterr().out

    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (640, 360)
    cap.release()

    tracks = _timeline(tl)
    assert sorted(tracks) == [1, 2], "each face keeps one id for the whole clip"
    for rows in tracks.values():
        assert [int(r["frame"]) for r in rows] == list(range(FRAMES))
        assert float(rows[1]["time"]) == pytest.approx(1 / 12, abs=1e-3)
    xs = {tid: [int(r["x"]) for r in rows] for tid, rows in tracks.items()}
    movers = sorted(xs.values(), key=lambda v: v[0])
    assert all(np.diff(movers[0]) >= -2) and movers[0][-1] > movers[0][0] + 150  # left face goes right
    assert all(np.diff(movers[1]) <= 2) and movers[1][-1] < movers[1][0] - 150  # right face goes left

    doc = json.loads(summ.read_text())
    assert doc["frames"] == FRAMES and doc["face_count"] == 2 and doc["frames_with_faces"] == FRAMES
    assert sum(doc["share"].values()) == pytest.approx(1, abs=1e-3)
    assert doc["dominant"] == max(doc["share"], key=doc["share"].get)
    assert [b["t"] for b in doc["valence_over_time"]] == [0.0, 1.0]
    assert all(-1 <= b["valence"] <= 1 for b in doc["valence_over_time"])
    assert {f["id"] for f in doc["faces"]} == {1, 2} and all(f["frames"] == FRAMES for f in doc["faces"])


def test_detect_every_n_frames_tracks_in_between(tiny_model, clip, tmp_path):
    assert main(["video", str(clip), "--model", str(tiny_model), "--timeline", str(tmp_path / "a.csv")]) == 0
    assert (
        main(
            [
                "video",
                str(clip),
                "--model",
                str(tiny_model),
                "--timeline",
                str(tmp_path / "b.csv"),
                "--every",
                "3",
                "--smooth",
                "1",
                "--json",
            ]
        )
        == 0
    )
    full, sparse = _timeline(tmp_path / "a.csv"), _timeline(tmp_path / "b.csv")
    assert sorted(sparse) == [1, 2]
    for tid in (1, 2):
        rows = sparse[tid]
        assert [r["detected"] for r in rows[:4]] == ["1", "0", "0", "1"]
        # from the second detection on, the track's velocity is known and predictions follow the face
        for a, b in list(zip(full[tid], rows))[3:]:
            box = lambda r: tuple(int(r[k]) for k in ("x", "y", "w", "h"))  # noqa: E731
            assert iou(box(a), box(b)) > 0.6, "predicted boxes follow the moving face"


def test_bad_video_sources_are_clear_errors(tiny_model, tmp_path, capsys):
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "noise.mp4").write_bytes(bytes(range(256)) * 8)
    assert main(["video", str(tmp_path / "notes.mp4"), "--model", str(tiny_model)]) == 2
    assert main(["video", str(tmp_path / "noise.mp4"), "--model", str(tiny_model)]) == 2
    assert main(["video", str(tmp_path / "missing.mp4"), "--model", str(tiny_model)]) == 2
    assert main(["video", str(tmp_path / "notes.mp4"), "--model", str(tiny_model), "--every", "0"]) == 2
    err = capsys.readouterr().err
    assert "notes.mp4: a text file, not a video" in err and "no such video file" in err
    assert "noise.mp4 could not be opened" in err
    assert "--every must be at least 1" in err and "Traceback" not in err


def test_webcam_without_display_or_gui_is_a_clear_error(tiny_model, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["webcam", "--model", str(tiny_model)]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "emolens video 0" in err and "Traceback" not in err


def test_camera_that_is_missing_is_a_clear_error(tiny_model, capsys):
    assert main(["video", "97", "--model", str(tiny_model)]) == 2
    assert "camera 97 could not be opened" in capsys.readouterr().err


def _det(x, y, s=50.0):
    return Detection((x, y, s, s), 0.9)


def test_tracker_ids_motion_and_retirement():
    tr = Tracker(max_missed=1, alpha=0.5)
    a, b = tr.update([_det(10, 10), _det(300, 10)], 0)
    assert (a.id, b.id) == (1, 2)
    # fast mover (no overlap with its last box) still matched by centre distance
    moved = tr.update([_det(305, 12), _det(50, 10)], 2)
    assert [t.id for t in moved] == [2, 1]
    assert tr.tracks[0].at(3).box[0] == pytest.approx(50 + 20)  # constant-velocity prediction
    tr.update([_det(90, 10)], 4)  # face 2 missed once: kept
    assert {t.id for t in tr.tracks} == {1, 2}
    tr.update([_det(130, 10)], 6)  # missed twice: retired
    assert [t.id for t in tr.tracks] == [1]
    assert tr.update([_det(500, 300)], 8)[0].id == 3  # a new face gets a new id

    t = tr.tracks[0]
    first = tr.smooth(t, np.array([1.0, 0.0]))
    assert first.tolist() == [1.0, 0.0]
    assert tr.smooth(t, np.array([0.0, 1.0])).tolist() == [0.5, 0.5]


def test_every_verb_defaults_to_the_default_model_read_with_its_int8_graph():
    """The live camera too (issue 20): `default`'s int8 graph reads a face in ~3 ms, so live video no longer
    needs the weaker `fast`."""
    from emolens.cli.main import build_parser

    args = build_parser("webcam").parse_args(["webcam"])
    assert args.model == "default" and args.precision == "auto"
    assert build_parser("video").parse_args(["video", "clip.mp4"]).model == "default"
    assert build_parser("analyze").parse_args(["analyze", "x.jpg"]).model == "default"

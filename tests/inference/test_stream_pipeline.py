"""Video throughput pieces: ids across an exit and re-entry, windows classified in one call, bounded prefetch."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from emolens.inference.analyzer import Analyzer
from emolens.inference.detectors.base import Detection
from emolens.inference.pipeline import Prefetch
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.tracking import Tracker
from emolens.inference.video import run_video

from helpers import astronaut_bgr, make_tiny_model


def _det(x, y, s=50.0):
    return Detection((x, y, s, s), 0.9)


def test_tracker_gives_a_returning_face_its_id_back():
    tr = Tracker(max_missed=1, reentry=30)
    a, b = tr.update([_det(10, 10), _det(400, 10)], 0)
    for frame in (1, 2, 3):  # face 1 leaves: retired after two missed rounds, kept as lost
        tr.update([_det(400, 10)], frame)
    assert [t.id for t in tr.tracks] == [b.id] and [t.id for t in tr.lost] == [a.id]
    back, other = tr.update([_det(20, 12), _det(400, 10)], 10)  # near where it left, same size
    assert back.id == a.id and other.id == b.id and tr.lost == []
    # a face far from where anyone left, or of another size, is someone else
    assert tr.update([_det(400, 10), _det(200, 200)], 11)[1].id == 3
    tr.update([_det(400, 10)], 12)
    tr.update([_det(400, 10)], 13)  # face 1 lost again
    assert tr.update([_det(400, 10), _det(20, 12, s=120.0)], 14)[1].id == 4


def test_tracker_forgets_after_the_window():
    tr = Tracker(max_missed=0, reentry=5)
    first = tr.update([_det(10, 10)], 0)[0]
    tr.update([], 1)
    assert tr.update([_det(12, 10)], 4)[0].id == first.id  # within 5 frames
    tr.update([], 5)
    assert tr.update([_det(12, 10)], 20)[0].id != first.id  # 15 frames later: a new id
    assert Tracker(reentry=0).lost == [] and Tracker().reentry == 0
    with pytest.raises(ValueError, match="re-entry"):
        Tracker(reentry=-1)
    with pytest.raises(ValueError, match="re-entry"):
        StreamOptions(reentry=-1)


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory):
    return Analyzer(make_tiny_model(tmp_path_factory.mktemp("tiny")), max_side=640)


def _frames(n, gone=range(0, 0), size=(640, 360)):
    """The astronaut's face still in the frame, absent for the frames in `gone` (walked out and back)."""
    face = cv2.resize(astronaut_bgr(), (200, 200), interpolation=cv2.INTER_AREA)
    for i in range(n):
        frame = np.full((size[1], size[0], 3), 90, np.uint8)
        if i not in gone:
            frame[60:260, 100 + 2 * i : 300 + 2 * i] = face
        yield i, i / 25, frame


def _ids(options, analyzer):
    seen = []
    run_video(_frames(40, gone=range(12, 24)), StreamAnalyzer(analyzer, options), on_progress=seen.append)
    assert [bool(r.faces) for r in seen] == [i not in range(12, 24) for i in range(40)]
    return [f.track_id for r in seen for f in r.faces]


@pytest.mark.parametrize("every", [1, 3])
def test_stream_keeps_the_id_across_a_short_exit(analyzer, every):
    """The face leaves for 12 frames (about half a second) and comes back where it left: the same id."""
    assert set(_ids(StreamOptions(every=every), analyzer)) == {1}
    assert set(_ids(StreamOptions(every=every, reentry=3), analyzer)) == {1, 2}  # window shorter than the exit


class Counting:
    def __init__(self, predict):
        self.predict, self.calls, self.faces = predict, 0, 0

    def __call__(self, crops):
        self.calls += 1
        self.faces += len(crops)
        return self.predict(crops)


@pytest.mark.parametrize("every", [1, 3, 5])
def test_frames_between_detections_are_classified_in_one_call(analyzer, monkeypatch, every):
    sequential = StreamAnalyzer(analyzer, StreamOptions(every=every))
    expected = [sequential.process(f, i, t) for i, t, f in _frames(30)]
    counter = Counting(analyzer.classifier.predict)
    monkeypatch.setattr(analyzer.classifier, "predict", counter)
    got = []
    stream = StreamAnalyzer(analyzer, StreamOptions(every=every))
    run_video(_frames(30), stream, on_progress=got.append)
    assert counter.faces == 30 and counter.calls == -(-30 // every)  # one call per detection round
    assert [r.to_dict() for r in got] == [r.to_dict() for r in expected]  # the same numbers, in order


def test_prefetch_is_bounded_and_passes_errors_on():
    made = []

    def produce():
        for i in range(1000):
            made.append(i)
            yield i

    with Prefetch(produce(), depth=4) as pre:
        it = iter(pre)
        assert next(it) == 0
        time.sleep(0.3)
        assert len(made) <= 1 + 4 + 1  # taken, queued, and one waiting to be put
    assert len(made) < 1000

    def broken():
        yield 1
        raise RuntimeError("decoder died")

    assert not pre._thread.is_alive()  # close() stopped the producer

    with Prefetch(broken(), depth=2) as pre, pytest.raises(RuntimeError, match="decoder died"):
        list(pre)
    assert not pre._thread.is_alive()
    with pytest.raises(ValueError, match="at least one"):
        Prefetch(iter(()), depth=0)

"""The customer rule on a generated counter clip of real photos: one person stays, one passes by."""

from __future__ import annotations

import pytest

from emolens.apps.satisfaction.analysis import analyze_recording
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.recording import SessionRecorder
from emolens.inference.analyzer import Analyzer
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.video import VideoSource, run_video

from helpers import STAYER_AT, make_tiny_model, service_video

FRAMES, FPS = 60, 10.0


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counter")
    analyzer = Analyzer(make_tiny_model(folder / "model"), "centerface", max_side=640)
    recorder = SessionRecorder(analyzer.labels)
    with VideoSource(str(service_video(folder / "counter.mp4", frames=FRAMES, fps=FPS))) as source:
        run_video(source, StreamAnalyzer(analyzer, StreamOptions(every=2)), [recorder])
    return recorder.recording()


def _stayer_track(selection) -> int:
    """The track whose boxes sit where the staying customer's head was pasted (bottom left)."""
    (track,) = [t for t in selection.tracks if t.first_box[0] < 0.3 and t.first_box[1] > 0.5]
    return track.id


def test_the_customer_is_the_person_who_stays(recording):
    assert len(recording.times) == FRAMES
    a = analyze_recording(recording, CustomerRule(pick="presence"))
    sel = a.selection
    stayer = _stayer_track(sel)
    assert sel.customer == (stayer,), sel.to_dict()
    passers = [t for t in sel.tracks if t.id != stayer]
    assert passers and all(t.role == "other" for t in passers)
    customer = next(t for t in sel.tracks if t.id == stayer)
    assert customer.usable_seconds == pytest.approx(FRAMES / FPS, abs=0.3)  # on screen and usable throughout
    x, y = STAYER_AT
    assert customer.first_box[0] * 640 == pytest.approx(x + 0.7 * 62, abs=25)  # the face inside the pasted head
    # Only the customer's frames are scored: the explanation's shares add up over their face time.
    assert a.score is not None and 0 <= a.score <= 100 and a.reason is None
    assert a.result.usable_seconds == pytest.approx(customer.usable_seconds)
    assert sum(a.explanation.share.values()) == pytest.approx(1.0)
    assert 0 < a.confidence <= 1


def test_largest_picks_the_bigger_passer_and_staff_seconds_excludes_the_stayer(recording):
    largest = analyze_recording(recording, CustomerRule(pick="largest")).selection
    stayer = _stayer_track(largest)
    assert largest.customer and stayer not in largest.customer
    staff = analyze_recording(recording, CustomerRule(staff_seconds=1.0)).selection
    assert staff.staff == (stayer,) and stayer not in staff.customer

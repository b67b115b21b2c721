"""The customer rule on synthetic recordings: presence, largest, staff at the start, region, stitching."""

from __future__ import annotations

import pytest

from emolens.apps.satisfaction.analysis import analyze_recording
from emolens.apps.satisfaction.customer import CustomerRule, select_customer
from emolens.apps.satisfaction.recording import FaceSample, Recording, SessionRecorder
from emolens.core.labels import EMOTIONS
from emolens.core.results import Face, Quality

FPS = 10
NEUTRAL = tuple(float(k == "neutral") for k in EMOTIONS)
HAPPY = tuple(float(k == "happy") for k in EMOTIONS)


def recording(
    frames: int,
    tracks: dict[int, tuple[range, tuple[float, float, float, float]]],
    *,
    probs=NEUTRAL,
    unusable: set[int] = frozenset(),
) -> Recording:
    """tracks: id -> (frames it is on screen, box as fractions); one frame every 1/FPS s."""
    faces = [
        FaceSample(frame=i, track=tid, box=box, probs=probs, usable=tid not in unusable)
        for i in range(frames)
        for tid, (span, box) in sorted(tracks.items())
        if i in span
    ]
    return Recording(labels=EMOTIONS, times=tuple(i / FPS for i in range(frames)), faces=tuple(faces))


SMALL_LEFT = (0.1, 0.2, 0.1, 0.15)
BIG_RIGHT = (0.6, 0.2, 0.3, 0.45)


def test_presence_picks_the_face_on_screen_longest_and_largest_the_closest():
    rec = recording(100, {1: (range(0, 100), SMALL_LEFT), 2: (range(20, 45), BIG_RIGHT)})
    by_presence = select_customer(rec, CustomerRule(pick="presence"))
    assert by_presence.customer == (1,) and by_presence.staff == () and by_presence.reason is None
    roles = {t.id: t.role for t in by_presence.tracks}
    assert roles == {1: "customer", 2: "other"}
    stats = {t.id: t for t in by_presence.tracks}
    assert stats[1].usable_seconds == pytest.approx(10.0) and stats[2].seconds == pytest.approx(2.5)
    assert stats[2].mean_area == pytest.approx(0.3 * 0.45)
    assert select_customer(rec, CustomerRule(pick="largest")).customer == (2,)


def test_a_face_on_screen_at_the_start_is_staff_and_never_scored():
    rec = recording(100, {1: (range(0, 100), BIG_RIGHT), 2: (range(30, 90), SMALL_LEFT)})
    assert select_customer(rec).customer == (1,)
    sel = select_customer(rec, CustomerRule(staff_seconds=1.0))
    assert sel.staff == (1,) and sel.customer == (2,)
    only_staff = recording(100, {1: (range(0, 100), BIG_RIGHT)})
    sel = select_customer(only_staff, CustomerRule(staff_seconds=1.0))
    assert sel.customer == () and "staff" in sel.reason
    a = analyze_recording(only_staff, CustomerRule(staff_seconds=1.0))
    assert a.score is None and "staff" in a.reason and a.to_dict()["customer"]["staff"] == [1]


def test_region_of_interest_keeps_the_customer_side_of_the_counter():
    rec = recording(100, {1: (range(0, 100), BIG_RIGHT), 2: (range(0, 60), SMALL_LEFT)})
    assert select_customer(rec).customer == (1,)
    left = CustomerRule.from_text(roi="0,0,0.5,1")
    assert left.roi == (0.0, 0.0, 0.5, 1.0)
    assert select_customer(rec, left).customer == (2,)
    nobody = select_customer(recording(50, {1: (range(0, 50), BIG_RIGHT)}), left)
    assert nobody.customer == () and "region" in nobody.reason


def test_a_track_lost_and_found_nearby_is_the_same_customer():
    near = (0.12, 0.21, 0.1, 0.15)  # where track 1 was lost, 1 s later
    far = (0.8, 0.7, 0.1, 0.15)
    rec = recording(120, {1: (range(0, 40), SMALL_LEFT), 3: (range(50, 120), near), 2: (range(45, 60), far)})
    sel = select_customer(rec)
    assert sel.customer == (1, 3)
    persons = {t.id: t.person for t in sel.tracks}
    assert persons[1] == persons[3] != persons[2]
    # A longer gap than stitch_gap_s: two people; the longer one (track 3, 7 s) is the customer.
    assert select_customer(rec, CustomerRule(stitch_gap_s=0.5)).customer == (3,)


def test_short_tiny_or_dark_faces_cannot_be_the_customer():
    short = recording(100, {1: (range(0, 15), SMALL_LEFT), 2: (range(50, 60), BIG_RIGHT)})
    sel = select_customer(short)
    assert sel.customer == () and "2 s or more" in sel.reason and "1.5 s" in sel.reason
    # Track 1 is long but flagged unusable (tiny/dark) all along: track 2 wins with fewer frames.
    rec = recording(100, {1: (range(0, 100), SMALL_LEFT), 2: (range(0, 40), BIG_RIGHT)}, unusable={1})
    assert select_customer(rec).customer == (2,)
    assert select_customer(recording(30, {})).reason == "no face was seen during the session"


def test_rule_validation_names_the_fix():
    with pytest.raises(ValueError, match="presence, largest"):
        CustomerRule(pick="loudest")
    with pytest.raises(ValueError, match="x0,y0,x1,y1"):
        CustomerRule.from_text(roi="0.5,0,1")
    with pytest.raises(ValueError, match="x0 < x1"):
        CustomerRule(roi=(0.6, 0, 0.5, 1))


def test_recorder_keeps_numbers_only_and_analysis_scores_the_customer():
    quality = Quality(tiny=False, blurry=True, dark=False, sharpness=10.0, brightness=120.0)
    dark = Quality(tiny=False, blurry=False, dark=True, sharpness=90.0, brightness=20.0)

    def face(tid, box, probs, q=quality):
        return Face(
            box=box,
            score=0.9,
            landmarks=None,
            probabilities=dict(zip(EMOTIONS, probs)),
            emotion="happy",
            confidence=max(probs),
            uncertain=False,
            quality=q,
            track_id=tid,
        )

    rec = SessionRecorder(EMOTIONS)
    for i in range(80):  # 8 s at 10 fps: the customer (id 7) happy, a dark face (id 9) as well
        rec.add(i / FPS, [face(7, (64, 48, 128, 96), HAPPY), face(9, (0, 0, 64, 48), HAPPY, dark)], 640, 480)
    with pytest.raises(ValueError, match="go back"):
        rec.add(0.0, [], 640, 480)
    recording_ = rec.recording()
    assert recording_.faces[0].box == (0.1, 0.1, 0.2, 0.2) and recording_.faces[0].usable  # blur alone is fine
    assert not recording_.faces[1].usable
    assert recording_.duration == pytest.approx(8.0)
    a = analyze_recording(recording_)
    assert a.selection.customer == (7,) and a.score == 100.0 and a.frames == 80
    d = a.to_dict()
    assert d["explanation"]["end"]["emotion"] == "happy" and d["customer"]["customer"] == [7]
    assert d["timeline"]["step"] == 0.5 and len(d["timeline"]["t"]) == 16

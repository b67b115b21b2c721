"""Frames -> one reading, and the personal baseline changing the reading exactly as docs/journal.md says."""

from __future__ import annotations

import pytest

from emolens.apps.journal import store
from emolens.apps.journal.readings import (
    NEUTRAL_PRIOR,
    NoFaceFound,
    adjust,
    excess,
    manual_reading,
    reading_from_frames,
    resting_warning,
)
from emolens.core.labels import EMOTIONS

from journal_helpers import face, make_db, make_user, probs, reading


def test_frames_aggregate_to_mean_shares_and_confidence():
    a, b = probs(happy=0.6), probs(happy=0.2, sad=0.5)
    small_background_face = face(probs(angry=0.9), box=(0, 0, 20, 20))
    r = reading_from_frames([[face(a), small_background_face], [], [face(b)]])
    assert (r.frames, r.total_frames) == (2, 3)
    assert r.shares["happy"] == pytest.approx(0.4) and r.shares["sad"] == pytest.approx((a["sad"] + 0.5) / 2)
    assert r.shares["angry"] < 0.2  # the background face is not the user
    assert sum(r.shares.values()) == pytest.approx(1.0)
    assert r.confidence == pytest.approx((0.6 + 0.5) / 2) and r.emotion == "happy"


def test_a_group_photo_says_which_face_was_read():
    group = [face(probs(sad=0.7), box=(0, 0, 200, 200))] + [
        face(probs(happy=0.9), box=(300 + 40 * i, 0, 30, 30)) for i in range(5)
    ]
    r = reading_from_frames([group])
    assert r.most_faces == 6 and r.notice == "6 faces found, used the largest" and r.emotion == "sad"
    assert reading_from_frames([[face(probs(sad=0.7))]]).notice is None
    frames = reading_from_frames([[face(probs(sad=0.7))], group[:3]])
    assert frames.notice == "up to 3 faces in a frame, used the largest in each"


def test_a_smiling_resting_face_asks_to_calibrate_again():
    warning = resting_warning(probs(happy=0.88))
    assert warning.startswith("your resting face reads happy 88%, not near neutral") and "calibrate again" in warning
    assert resting_warning(probs(neutral=0.7)) is None  # a typical resting face
    assert resting_warning(probs(neutral=0.5, sad=0.35)) is None  # a resting face that looks a little sad: fine
    assert resting_warning(probs(sad=0.6)) is not None


def test_no_face_in_any_frame_says_what_to_do():
    with pytest.raises(NoFaceFound, match="good light.*picking a mood"):
        reading_from_frames([[], []])


def test_manual_mood_is_the_whole_reading():
    r = manual_reading("sad")
    assert r.shares == {e: float(e == "sad") for e in EMOTIONS} and r.confidence is None
    with pytest.raises(ValueError, match="pick one of"):
        manual_reading("meh")


def test_baseline_formula_on_a_hand_computed_example():
    # A resting face that reads sad 0.30, angry 0.10, neutral 0.45 (others 0.0375 each).
    b = probs(sad=0.30, angry=0.10, neutral=0.45)
    e = excess(b)
    assert e["sad"] == pytest.approx(0.25) and e["angry"] == pytest.approx(0.05) and e["happy"] == 0.0
    # A later check-in: sad 0.40, angry 0.10, happy 0.20, neutral 0.20, disgust/fear/surprise 1/30 each.
    p = probs(sad=0.40, angry=0.10, happy=0.20, neutral=0.20)
    a = adjust(p, b)
    assert a["sad"] == pytest.approx(0.15) and a["angry"] == pytest.approx(0.05) and a["happy"] == pytest.approx(0.20)
    assert a["neutral"] == pytest.approx(0.20 + 0.25 + 0.05)  # the removed excess is read as neutral
    assert sum(a.values()) == pytest.approx(1.0) and list(a) == list(p)
    assert max(p, key=p.get) == "sad" and max(a, key=a.get) == "neutral"


def test_the_resting_face_itself_reads_neutral_and_nothing_is_raised():
    b = probs(sad=0.55, angry=0.20, neutral=0.15)
    a = adjust(b, b)
    assert a["neutral"] >= NEUTRAL_PRIOR["neutral"] and max(a, key=a.get) == "neutral"
    p = probs(happy=0.7)
    assert all(adjust(p, b)[k] <= p[k] + 1e-12 for k in EMOTIONS if k != "neutral")


def test_baseline_changes_the_stored_reading(tmp_path):
    db = make_db(tmp_path / "j.db")
    user = make_user(db, "alice")
    resting = probs(sad=0.45, neutral=0.35)
    before = store.add_checkin(db, user.id, reading(resting), source="photo")
    assert before.emotion == "sad" and before.adjusted is None
    store.save_baseline(db, user.id, reading(resting, frames=5))
    after = store.add_checkin(db, user.id, reading(resting), source="photo")
    assert after.emotion == "neutral" and after.adjusted == pytest.approx(adjust(after.shares, resting), abs=1e-5)
    assert after.shares == before.shares  # the raw reading is kept next to the adjusted one
    smiling = store.add_checkin(db, user.id, reading(probs(happy=0.8)), source="camera")
    assert smiling.emotion == "happy"
    mood = store.add_checkin(db, user.id, manual_reading("sad"), source="manual")
    assert mood.emotion == "sad" and mood.adjusted is None  # a picked mood is never adjusted

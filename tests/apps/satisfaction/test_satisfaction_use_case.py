"""Scoring a session from frames (apps/satisfaction/video.py) with a stand-in for the runtime: the use case the
web's uploaded videos and counter camera and `emolens session analyze` share."""

from __future__ import annotations

import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.score import ScoreParams
from emolens.apps.satisfaction.video import Scoring, failing_session, save_scored_session, score_video
from emolens.core.labels import EMOTIONS
from emolens.core.results import Face, Quality

QUICK = Scoring(CustomerRule(min_seconds=0.1), ScoreParams(min_usable_s=0.1))


def happy_face(track_id: int = 1) -> Face:
    p = {e: 0.9 if e == "happy" else 0.1 / 6 for e in EMOTIONS}
    return Face(
        box=(100, 100, 120, 120),
        score=0.99,
        landmarks=None,
        probabilities=p,
        emotion="happy",
        confidence=0.9,
        uncertain=False,
        quality=Quality(False, False, False, 100.0, 120.0),
        track_id=track_id,
    )


def feed(seconds: float, fps: float = 10.0):
    """What the caller's runtime does: each frame's faces to the recorder; returns what it read."""

    def run(recorder) -> int:
        n = int(seconds * fps)
        for i in range(n):
            recorder.add(i / fps, [happy_face()], 640, 480)
        return n

    return run


@pytest.fixture
def db(tmp_path):
    return open_database(tmp_path / "emolens.db", all_migrations())


def test_score_video_records_what_the_runtime_feeds_and_scores_it():
    analysis, frames = score_video(feed(3.0), EMOTIONS, QUICK)
    assert frames == 30 and analysis.frames == 30
    assert analysis.score is not None and analysis.score > 50  # a happy customer throughout


def test_a_scored_session_is_stored_for_its_user(db):
    user = accounts.local_user(db, "ana", hasher=accounts.password_hasher(fast=True))
    analysis, _ = score_video(feed(2.0), EMOTIONS, QUICK)
    session = save_scored_session(db, user.id, analysis, location="Main St", agent="ben", model_sha256="c" * 64)
    assert session.status == "done" and session.score == analysis.score and session.source == "cli"
    assert session.model_sha256 == "c" * 64 and session.to_dict()["model_sha256"] == "c" * 64
    assert [s.id for s in store.list_sessions(db, user.id, store.SessionFilter())] == [session.id]


def test_a_failure_marks_the_session_failed_with_its_reason(db):
    user = accounts.local_user(db, "cy", hasher=accounts.password_hasher(fast=True))
    session = store.create_session(db, user.id, location="x", agent="y", source="video")

    def broken(recorder):
        raise RuntimeError("the video ended early")

    with pytest.raises(RuntimeError), failing_session(db, session.id):
        score_video(broken, EMOTIONS, QUICK)
    failed = store.get_session(db, user.id, session.id)
    assert failed.status == "failed" and failed.error == "the video ended early"


def test_scoring_from_settings_names_the_setting_when_malformed():
    from emolens.settings import AppSettings

    assert Scoring.from_settings(AppSettings(satisfaction_rule="largest")).rule.pick == "largest"
    with pytest.raises(ValueError, match="EMOLENS_SATISFACTION_RULE"):
        Scoring.from_settings(AppSettings(satisfaction_roi="1,2"))

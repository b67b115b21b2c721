"""The check-in use case (apps/journal/checkin.py) with a stand-in analyser: the web and the CLI share it."""

from __future__ import annotations

import numpy as np
import pytest

from emolens.apps.journal import store
from emolens.apps.journal.checkin import baseline_from_images, checkin_from_images
from emolens.apps.journal.readings import NoFaceFound

from journal_helpers import face, make_db, make_user, probs


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "emolens.db")


def analyser(faces_per_image):
    """Faces for each picture in turn, as the runtime's Analyzer.analyze would give them."""
    answers = iter(faces_per_image)
    return lambda image: next(answers)


def picture(value: int) -> np.ndarray:
    return np.full((64, 64, 3), value, np.uint8)


def test_one_photo_is_a_photo_check_in_and_the_largest_face_is_the_user(db, tmp_path):
    user = make_user(db, "alice")
    crowd = [face(probs(sad=0.9), box=(0, 0, 20, 20)), face(probs(happy=0.9), box=(10, 10, 60, 60))]
    checkin, notice = checkin_from_images(
        db, analyser([crowd]), user.id, [picture(1)], note="n", tags="work", keep_image=True, data_dir=tmp_path
    )
    assert checkin.source == "photo" and checkin.emotion == "happy" and checkin.tags == ("work",)
    assert notice and "2 faces" in notice
    kept = store.image_path(tmp_path, checkin.image_file)
    assert kept.read_bytes()[:2] == b"\xff\xd8"  # a re-encoded JPEG, only because keep_image was asked


def test_camera_frames_make_one_check_in_and_keep_no_picture_unless_asked(db, tmp_path):
    user = make_user(db, "bob")
    frames = [[face(probs(happy=0.8))], [], [face(probs(happy=0.6))]]
    checkin, notice = checkin_from_images(
        db, analyser(frames), user.id, [picture(i) for i in range(3)], data_dir=tmp_path
    )
    assert checkin.source == "camera" and checkin.frames == 2 and checkin.image_file is None and notice is None
    assert not (tmp_path / store.IMAGES).exists()


def test_no_face_anywhere_stores_nothing(db):
    user = make_user(db, "carol")
    with pytest.raises(NoFaceFound):
        checkin_from_images(db, analyser([[], []]), user.id, [picture(0), picture(1)])
    assert store.list_checkins(db, user.id) == []


def test_a_baseline_from_pictures_then_readings_relative_to_it(db):
    user = make_user(db, "dana")
    baseline, _ = baseline_from_images(db, analyser([[face(probs(sad=0.5))]] * 2), user.id, [picture(0)] * 2)
    assert baseline.frames == 2 and store.get_baseline(db, user.id) is not None
    checkin, _ = checkin_from_images(db, analyser([[face(probs(sad=0.5))]]), user.id, [picture(0)])
    assert checkin.adjusted is not None  # read relative to the resting face

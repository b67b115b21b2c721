"""Contributed face crops: only with consent, per check-in; 48x48 gray, never the photo; in the export; gone from the
database file on withdrawal, with the check-in and with the account."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from emolens.apps.journal import checkin as usecase
from emolens.apps.journal import contributions, store
from emolens.apps.journal.export import export_csv, export_json
from emolens.apps.registry import delete_account

from journal_helpers import face, make_db, make_user, probs, reading


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "emolens.db")


def photo(seed: int) -> np.ndarray:
    """A 'photo' of noise: its crop's bytes are unique, so the database file can be searched for them."""
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def crop(image: np.ndarray, f) -> np.ndarray:
    """A stand-in for Analyzer.model_crop: the face box, gray, 48x48."""
    x1, y1, x2, y2 = (int(v) for v in f.box)
    return cv2.resize(cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), (48, 48), interpolation=cv2.INTER_AREA)


def check_in(db, user_id: int, seed: int, *, contribute: bool, **kw) -> store.CheckIn:
    image = photo(seed)
    c, _ = usecase.checkin_from_images(
        db, lambda img: [face(probs(happy=0.7))], user_id, [image], contribute=contribute, crop=crop, **kw
    )
    return c


def expected_crop(seed: int) -> bytes:
    return crop(photo(seed), face(probs(happy=0.7))).tobytes()


def database_bytes(db) -> bytes:
    """The database file, its WAL and shared memory, as they lie on disk."""
    return b"".join(p.read_bytes() for p in db.path.parent.glob(db.path.name + "*"))


def test_crops_exist_only_with_consent(db):
    ana = make_user(db, "ana")
    plain = check_in(db, ana.id, 1, contribute=False)
    given = check_in(db, ana.id, 2, contribute=True)
    assert not plain.contributed and given.contributed
    assert [c.checkin_id for c in contributions.list_contributions(db, ana.id)] == [given.id]
    assert expected_crop(1) not in database_bytes(db)
    with db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM journal_contributions").fetchone()[0] == 1
    with pytest.raises(store.JournalError, match="no face crop"):
        store.add_checkin(db, ana.id, reading(probs(sad=1.0)), source="manual", contribution=bytes(48 * 48))
    with pytest.raises(store.JournalError, match="crop"):  # consent without a crop function is refused, not ignored
        usecase.checkin_from_images(db, lambda img: [face(probs(sad=0.7))], ana.id, [photo(3)], contribute=True)


def test_a_crop_is_48x48_gray_and_never_the_photo(db):
    ana = make_user(db, "ana")
    c = check_in(db, ana.id, 2, contribute=True, keep_image=False)
    (k,) = contributions.list_contributions(db, ana.id)
    pixels = contributions.get_crop(db, ana.id, k.id)
    assert pixels.shape == (48, 48) and pixels.dtype == np.uint8
    assert pixels.tobytes() == expected_crop(2)
    assert c.image_file is None  # contributing keeps no photo
    with db.read() as conn:
        assert len(conn.execute("SELECT crop FROM journal_contributions").fetchone()[0]) == 48 * 48
    for wrong in (np.zeros((48, 48, 3), np.uint8), np.zeros((96, 96), np.uint8), np.zeros((48, 48), np.float32)):
        with pytest.raises(contributions.ContributionError, match="48x48 gray"):
            contributions.pixels(wrong)


def test_crops_appear_in_the_export(db):
    ana = make_user(db, "ana")
    c = check_in(db, ana.id, 2, contribute=True)
    usecase.edit_checkin(db, ana.id, c.id, corrected="sad")
    (doc,) = export_json(db, ana.id)["contributions"]
    assert doc["checkin_id"] == c.id and doc["label"] == "sad" and doc["size"] == [48, 48] and doc["used_for_training"]
    png = np.frombuffer(base64.b64decode(doc["crop_png_base64"]), np.uint8)
    assert cv2.imdecode(png, cv2.IMREAD_UNCHANGED).tobytes() == expected_crop(2)  # exactly what was given
    assert "contributed" in export_csv(db, ana.id).splitlines()[0]
    assert export_json(db, ana.id)["checkins"][0]["contributed"] is True


def test_withdrawing_one_and_all_removes_them_from_the_database_file(db):
    ana, ben = make_user(db, "ana"), make_user(db, "ben")
    first = check_in(db, ana.id, 10, contribute=True)
    check_in(db, ana.id, 11, contribute=True)
    check_in(db, ben.id, 12, contribute=True)
    one, two = contributions.list_contributions(db, ana.id)
    assert not contributions.delete(db, ben.id, one.id)  # not ben's to withdraw
    assert contributions.delete(db, ana.id, one.id)
    assert expected_crop(10) not in database_bytes(db) and expected_crop(11) in database_bytes(db)
    assert store.get_checkin(db, ana.id, first.id).contributed is False  # the check-in stays, without its crop
    assert contributions.delete_all(db, ana.id) == 1
    assert expected_crop(11) not in database_bytes(db)
    assert contributions.list_contributions(db, ana.id) == [] and len(contributions.list_contributions(db, ben.id)) == 1


def test_deleting_the_checkin_or_the_account_removes_the_crop(db, tmp_path):
    ana, ben = make_user(db, "ana"), make_user(db, "ben")
    c = check_in(db, ana.id, 20, contribute=True)
    check_in(db, ben.id, 21, contribute=True)
    assert usecase.delete_checkin(db, ana.id, c.id, data_dir=tmp_path)
    assert expected_crop(20) not in database_bytes(db)
    assert delete_account(db, ben.id, data_dir=tmp_path)
    assert expected_crop(21) not in database_bytes(db)
    with db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM journal_contributions").fetchone()[0] == 0


def test_only_corrected_crops_teach_the_model(db):
    ana, ben = make_user(db, "ana"), make_user(db, "ben")
    a = check_in(db, ana.id, 30, contribute=True)
    check_in(db, ana.id, 31, contribute=True)  # never corrected: no label, not used
    b = check_in(db, ben.id, 32, contribute=True)
    usecase.edit_checkin(db, ana.id, a.id, corrected="sad")
    usecase.edit_checkin(db, ben.id, b.id, corrected="angry")
    found = contributions.training_crops(db)
    assert found.labels == ("sad", "angry") and found.users == (ana.id, ben.id) and found.crops.shape == (2, 48, 48)
    assert found.crops[0].tobytes() == expected_crop(30)

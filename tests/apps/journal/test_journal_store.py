"""Check-ins in SQLite: ownership, corrections, kept photos, export, deleting everything, schema upgrades."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.journal import store
from emolens.apps.journal.export import CSV_FIELDS, export_csv, export_json
from emolens.apps.journal.readings import manual_reading
from emolens.apps.journal.schema import MIGRATIONS
from emolens.apps.registry import delete_account

from journal_helpers import TODAY, at, make_db, make_user, probs, reading

SECRET_NOTE = "note-7f3a9c: told nobody about this"


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "data" / "emolens.db")


def test_only_the_owner_reads_changes_or_deletes(db):
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    c = store.add_checkin(db, alice.id, reading(probs(happy=0.6)), source="photo", note="mine", tags="Work, sleep")
    assert c.tags == ("sleep", "work") and c.note == "mine"
    assert store.get_checkin(db, bob.id, c.id) is None
    assert store.list_checkins(db, bob.id) == []
    assert store.update_checkin(db, bob.id, c.id, corrected="sad") is None
    assert store.delete_checkin(db, bob.id, c.id) is False
    assert store.get_checkin(db, alice.id, c.id) == c  # untouched


def test_correction_is_stored_next_to_the_estimate(db):
    alice = make_user(db, "alice")
    c = store.add_checkin(db, alice.id, reading(probs(sad=0.5)), source="camera")
    fixed = store.update_checkin(db, alice.id, c.id, corrected="neutral", note="just tired", tags=["sleep"])
    assert (fixed.emotion, fixed.corrected, fixed.final_emotion) == ("sad", "neutral", "neutral")
    assert fixed.final_shares["neutral"] == 1.0 and fixed.shares == c.shares
    assert fixed.note == "just tired" and fixed.tags == ("sleep",)
    assert store.update_checkin(db, alice.id, c.id, corrected=None).final_emotion == "sad"
    with pytest.raises(store.JournalError, match="unknown emotion"):
        store.update_checkin(db, alice.id, c.id, corrected="meh")


def test_check_ins_in_the_future_are_refused(db):
    from datetime import datetime, timedelta, timezone

    with pytest.raises(store.JournalError, match="in the future"):
        store.add_checkin(
            db,
            make_user(db, "alice").id,
            manual_reading("happy"),
            source="manual",
            at=datetime.now(timezone.utc) + timedelta(days=3),
        )


@pytest.mark.parametrize(
    "tags, needle",
    [(["x" * 30], "24 letters"), ([f"t{i}" for i in range(9)], "at most 8"), (["bad/tag"], "24 letters")],
)
def test_bad_tags_are_refused(db, tags, needle):
    with pytest.raises(store.JournalError, match=needle):
        store.add_checkin(db, make_user(db, "alice").id, manual_reading("happy"), source="manual", tags=tags)


def test_photo_is_kept_only_on_request_and_deleted_with_the_checkin(db, tmp_path):
    data = db.path.parent
    alice = make_user(db, "alice")
    plain = store.add_checkin(db, alice.id, reading(probs(happy=0.6)), source="photo", data_dir=data)
    assert plain.image_file is None and not (data / "journal").exists()
    kept = store.add_checkin(
        db, alice.id, reading(probs(happy=0.6)), source="photo", data_dir=data, image_jpeg=b"\xff\xd8jpeg bytes"
    )
    path = store.image_path(data, kept.image_file)
    assert path.read_bytes() == b"\xff\xd8jpeg bytes" and oct(path.stat().st_mode & 0o777) == "0o600"
    assert kept.to_dict()["has_image"] is True and "image_file" not in kept.to_dict()
    assert store.delete_checkin(db, alice.id, kept.id, data_dir=data)
    assert not path.exists()
    with pytest.raises(store.JournalError, match="outside"):
        store.image_path(data, "../emolens.db")


def test_export_json_and_csv_hold_everything(db):
    alice = make_user(db, "alice")
    store.save_baseline(db, alice.id, reading(probs(sad=0.3), frames=4))
    store.add_checkin(
        db, alice.id, reading(probs(happy=0.6)), source="photo", at=at(TODAY, 8), tags=["work"], note='=HYPERLINK("x")'
    )
    c = store.add_checkin(db, alice.id, manual_reading("sad"), source="manual", at=at(TODAY, 20), note="evening")
    store.update_checkin(db, alice.id, c.id, corrected="neutral")
    doc = json.loads(json.dumps(export_json(db, alice.id)))
    assert doc["user"]["username"] == "alice" and doc["baseline"]["frames"] == 4
    assert [x["source"] for x in doc["checkins"]] == ["photo", "manual"]
    assert doc["checkins"][1]["corrected"] == "neutral" and doc["checkins"][0]["tags"] == ["work"]
    rows = list(csv.DictReader(io.StringIO(export_csv(db, alice.id))))
    assert len(rows) == 2 and tuple(rows[0]) == CSV_FIELDS
    assert rows[0]["note"].startswith("'=")  # a spreadsheet will not run it
    assert rows[1]["final_emotion"] == "neutral" and rows[1]["share_sad"] == "1.0" and rows[1]["confidence"] == ""
    assert float(rows[0]["adjusted_happy"]) > 0  # read relative to the baseline


def test_deleting_the_account_leaves_nothing_behind(db):
    data = db.path.parent
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    accounts.issue_token(db, alice.id)
    accounts.start_session(db, alice.id)
    store.save_baseline(db, alice.id, reading(probs(sad=0.3)))
    for i in range(20):
        store.add_checkin(
            db,
            alice.id,
            reading(probs(happy=0.5)),
            source="photo",
            note=f"{SECRET_NOTE} {i}",
            tags=["secret-tag"],
            data_dir=data,
            image_jpeg=b"\xff\xd8" + bytes(2000),
        )
    store.add_checkin(db, bob.id, manual_reading("happy"), source="manual", note="bob's")
    assert delete_account(db, alice.id, data_dir=data)  # apps/registry.py: every app's part, then the rows
    conn = sqlite3.connect(db.path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            if "user_id" in cols:
                assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (alice.id,)).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM journal_tags").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    finally:
        conn.close()
    assert not (data / "journal" / str(alice.id)).exists()
    for f in data.glob("emolens.db*"):  # the file, the WAL and the shared memory: no copy of the notes
        raw = f.read_bytes()
        assert SECRET_NOTE.encode() not in raw and b"secret-tag" not in raw and b"alice" not in raw, f.name
    assert [c.note for c in store.list_checkins(db, bob.id)] == ["bob's"]


def test_upgrade_from_journal_v1_keeps_checkins(tmp_path):
    path = tmp_path / "emolens.db"
    old = open_database(path, [accounts.MIGRATIONS[0], MIGRATIONS[0]])  # the first versions of both
    user = make_user(old, "alice")
    with old.write() as conn:  # a row written by the first version of the journal
        conn.execute(
            "INSERT INTO journal_checkins (user_id, created_at, local_time, source, shares, emotion, "
            "confidence, frames, note) VALUES (?, '2026-03-01T08:00:00Z', '2026-03-01T09:00:00', 'photo', "
            "'{\"happy\": 0.9, \"sad\": 0.1}', 'happy', 0.9, 1, 'old')",
            (user.id,),
        )
    assert old.versions() == {"accounts": 1, "journal": 1}
    db = make_db(path)
    assert db.versions() == {"accounts": len(accounts.MIGRATIONS), "journal": len(MIGRATIONS)}
    (c,) = store.list_checkins(db, user.id)
    assert (c.note, c.emotion, c.adjusted, c.corrected, c.image_file) == ("old", "happy", None, None, None)
    assert store.update_checkin(db, user.id, c.id, corrected="neutral").final_emotion == "neutral"
    assert db.integrity_check() == "ok"


def test_upgrade_to_device_checkins_keeps_every_row_tag_and_id(tmp_path):
    path = tmp_path / "emolens.db"
    old = open_database(path, [*accounts.MIGRATIONS, *MIGRATIONS[:3]])  # before 'device' was a source
    user = make_user(old, "alice")
    with old.write() as conn:  # rows as version 3 wrote them (today's store needs today's schema)
        ids = []
        for _ in range(3):
            cur = conn.execute(
                "INSERT INTO journal_checkins (user_id, created_at, local_time, source, shares, emotion, "
                "confidence, frames, note) VALUES (?, '2026-03-01T08:00:00Z', '2026-03-01T09:00:00', 'camera', "
                "'{\"happy\": 0.6, \"neutral\": 0.4}', 'happy', 0.6, 1, 'a')",
                (user.id,),
            )
            ids.append(cur.lastrowid)
            conn.executemany(
                "INSERT INTO journal_tags (checkin_id, tag) VALUES (?, ?)", [(ids[-1], "work"), (ids[-1], "sleep")]
            )
        conn.execute("UPDATE journal_checkins SET corrected = 'sad' WHERE id = ?", (ids[1],))
        conn.execute("DELETE FROM journal_checkins WHERE id = ?", (ids[0],))  # ids need not be contiguous
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):  # the old schema's CHECK
            conn.execute(
                "INSERT INTO journal_checkins (user_id, created_at, local_time, source, shares, emotion, frames) "
                "VALUES (?, 'x', 'x', 'device', '{}', 'sad', 1)",
                (user.id,),
            )

    class Kept:
        def __init__(self, id_):
            self.id = id_

    kept = [Kept(i) for i in ids]
    assert old.versions()["journal"] == 3
    db = make_db(path)
    assert db.versions()["journal"] == len(MIGRATIONS) == 5
    after = store.list_checkins(db, user.id)
    assert [(c.id, c.tags, c.note, c.corrected) for c in after] == [
        (k.id, ("sleep", "work"), "a", "sad" if k.id == kept[1].id else None) for k in kept[1:]
    ]
    new = store.add_checkin(db, user.id, reading(probs(sad=0.5)), source="device", tags=["health"])
    assert new.source == "device" and new.id > kept[-1].id and new.tags == ("health",)
    assert store.delete_checkin(db, user.id, kept[2].id)  # tags still cascade with their check-in
    with db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM journal_tags").fetchone()[0] == 3
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"journal_checkins_user_time", "journal_checkins_idempotency"} <= indexes
    assert db.integrity_check() == "ok"

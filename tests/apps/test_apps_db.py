"""The shared SQLite layer: pragmas, transactions, migrations (fresh file, older version, newer version)."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from emolens.apps.db import Database, Migration, SchemaError, open_database, split_sql
from emolens.apps.registry import all_migrations

NOTES_V1 = Migration("notes", 1, "notes", sql="CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);")
NOTES_V2 = Migration(
    "notes",
    2,
    "note titles",
    sql="""
    ALTER TABLE notes ADD COLUMN title TEXT NOT NULL DEFAULT '';
    CREATE INDEX notes_title ON notes(title);  -- two statements, one migration
""",
)


def _backfill(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE notes SET title = substr(body, 1, 3)")


NOTES_V3 = Migration("notes", 3, "titles from bodies", apply=_backfill)


def test_new_file_is_private_wal_and_versioned(tmp_path):
    db = open_database(tmp_path / "data" / "x.db", [NOTES_V1, NOTES_V2])
    assert db.versions() == {"notes": 2}
    assert stat.S_IMODE(os.stat(db.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.path.parent).st_mode) == 0o700
    conn = db.connect()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        conn.close()
    assert db.integrity_check() == "ok"


def test_every_app_schema_applies_to_an_empty_file(tmp_path):
    db = open_database(tmp_path / "emolens.db", all_migrations())
    latest = {}
    for m in all_migrations():
        latest[m.app] = max(latest.get(m.app, 0), m.version)
    assert db.versions() == latest
    assert open_database(db.path, all_migrations()).versions() == latest  # a second start changes nothing


def test_migrating_from_a_previous_version_keeps_the_data(tmp_path):
    db = open_database(tmp_path / "x.db", [NOTES_V1])
    with db.write() as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('hello world')")
    applied = open_database(db.path, [NOTES_V1, NOTES_V2, NOTES_V3]).migrate([NOTES_V1, NOTES_V2, NOTES_V3])
    assert applied == []  # open_database already applied them
    with db.read() as conn:
        assert tuple(conn.execute("SELECT body, title FROM notes").fetchone()) == ("hello world", "hel")
    assert db.versions() == {"notes": 3}


def test_a_failed_migration_changes_nothing(tmp_path):
    db = open_database(tmp_path / "x.db", [NOTES_V1])
    broken = Migration("notes", 2, "broken", sql="ALTER TABLE notes ADD COLUMN a TEXT; SELECT * FROM missing_table;")
    with pytest.raises(sqlite3.OperationalError):
        db.migrate([NOTES_V1, broken])
    assert db.versions() == {"notes": 1}
    with db.read() as conn:
        assert [r[1] for r in conn.execute("PRAGMA table_info(notes)")] == ["id", "body"]


def test_a_newer_file_is_refused_with_the_fix(tmp_path):
    open_database(tmp_path / "x.db", [NOTES_V1, NOTES_V2])
    with pytest.raises(SchemaError, match="newer .* upgrade emolens"):
        open_database(tmp_path / "x.db", [NOTES_V1])


def test_versions_must_be_contiguous():
    with pytest.raises(ValueError, match="numbered 1..2"):
        Database(":memory:").migrate([NOTES_V1, Migration("notes", 3, "gap")])


def test_write_rolls_back_on_error(tmp_path):
    db = open_database(tmp_path / "x.db", [NOTES_V1])
    with pytest.raises(RuntimeError):
        with db.write() as conn:
            conn.execute("INSERT INTO notes (body) VALUES ('lost')")
            raise RuntimeError("boom")
    with db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0


def test_split_sql_keeps_semicolons_inside_strings():
    assert split_sql("INSERT INTO t VALUES ('a;b'); -- one; two\nSELECT 1;  -- end") == [
        "INSERT INTO t VALUES ('a;b');",
        "-- one; two\nSELECT 1;",
    ]

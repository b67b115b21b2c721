"""The installed apps (apps/registry.py): migrations in order, account deletion through every app's hook."""

from __future__ import annotations

import sqlite3

from emolens.apps import accounts, registry
from emolens.apps.db import open_database
from emolens.apps.journal import store as journal
from emolens.apps.journal.readings import manual_reading
from emolens.apps.satisfaction import store as sessions
from emolens.apps.spec import AppSpec


def test_accounts_come_first_then_each_app_in_order():
    names = [m.app for m in registry.all_migrations()]
    assert names[0] == "accounts" and names.index("journal") < names.index("satisfaction")
    assert [a.name for a in registry.APPS] == ["journal", "satisfaction"]
    assert all(m.app == app.name for app in registry.APPS for m in app.migrations)  # each app owns its schema


def test_deleting_an_account_runs_every_apps_hook_then_removes_its_rows(tmp_path, monkeypatch):
    db = open_database(tmp_path / "emolens.db", registry.all_migrations())
    hasher = accounts.password_hasher(fast=True)
    alice, bob = accounts.local_user(db, "alice", hasher=hasher), accounts.local_user(db, "bob", hasher=hasher)
    kept = journal.add_checkin(
        db, alice.id, manual_reading("happy"), source="photo", data_dir=tmp_path, image_jpeg=b"\xff\xd8" + bytes(100)
    )
    sessions.create_session(db, alice.id, location="x", agent="y")
    bobs = sessions.create_session(db, bob.id, location="x", agent="y")
    calls = []
    extra = AppSpec("probe", (), delete_account=lambda db, user_id, data_dir: calls.append((user_id, data_dir)))
    monkeypatch.setattr(registry, "APPS", (*registry.APPS, extra))
    assert journal.image_path(tmp_path, kept.image_file).is_file()
    assert registry.delete_account(db, alice.id, data_dir=tmp_path)
    assert calls == [(alice.id, tmp_path)]  # a registered app's hook runs with the account's id
    assert not journal.user_images_dir(tmp_path, alice.id).exists()  # the journal's hook: kept photos
    conn = sqlite3.connect(db.path)
    try:  # every app's rows of alice went with the account; bob's stayed
        assert conn.execute("SELECT COUNT(*) FROM journal_checkins WHERE user_id = ?", (alice.id,)).fetchone()[0] == 0
        assert conn.execute("SELECT user_id FROM service_sessions").fetchall() == [(bob.id,)]
    finally:
        conn.close()
    assert accounts.get_user(db, alice.id) is None and sessions.get_session(db, bob.id, bobs.id) is not None
    assert not registry.delete_account(db, alice.id, data_dir=tmp_path)  # already gone

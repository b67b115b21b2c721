"""Accounts: argon2id passwords, login, tokens and sessions stored hashed, cascade on delete."""

from __future__ import annotations

import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database


@pytest.fixture
def db(tmp_path):
    return open_database(tmp_path / "emolens.db", accounts.MIGRATIONS)


@pytest.fixture
def hasher():
    return accounts.password_hasher(fast=True)


def test_password_is_stored_as_argon2id_and_verifies(db, hasher):
    user = accounts.create_user(db, "Alice", "correct horse battery", hasher=hasher)
    with db.read() as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user.id,)).fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.authenticate(db, "alice", "correct horse battery", hasher=hasher) == user  # name is case-blind
    with pytest.raises(accounts.InvalidCredentials, match="wrong username or password"):
        accounts.authenticate(db, "alice", "wrong password!", hasher=hasher)
    with pytest.raises(accounts.InvalidCredentials, match="wrong username or password"):
        accounts.authenticate(db, "nobody", "correct horse battery", hasher=hasher)


def test_login_upgrades_old_hash_parameters(db, hasher):
    user = accounts.create_user(db, "bob", "a fine password", hasher=hasher)
    stronger = accounts.password_hasher()
    accounts.authenticate(db, "bob", "a fine password", hasher=stronger)
    with db.read() as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user.id,)).fetchone()[0]
    assert not stronger.check_needs_rehash(stored)


@pytest.mark.parametrize(
    "name, password, error",
    [
        ("a", "long enough pw", accounts.InvalidUsername),
        ("bad name", "long enough pw", accounts.InvalidUsername),
        ("carol", "short", accounts.WeakPassword),
    ],
)
def test_bad_usernames_and_passwords_are_refused(db, hasher, name, password, error):
    with pytest.raises(error):
        accounts.create_user(db, name, password, hasher=hasher)


def test_usernames_are_unique_ignoring_case(db, hasher):
    accounts.create_user(db, "dave", "password one", hasher=hasher)
    with pytest.raises(accounts.UsernameTaken, match="taken"):
        accounts.create_user(db, "DAVE", "password two", hasher=hasher)


def test_local_user_has_no_password_until_one_is_set(db, hasher):
    user = accounts.local_user(db, "erin", hasher=hasher)
    assert accounts.local_user(db, "erin", hasher=hasher) == user and not user.has_password
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(db, "erin", "!", hasher=hasher)
    accounts.set_password(db, user.id, "now with a password", hasher=hasher)
    assert accounts.authenticate(db, "erin", "now with a password", hasher=hasher).has_password


def test_tokens_are_stored_hashed_and_revocable(db, hasher):
    user = accounts.create_user(db, "frank", "password one", hasher=hasher)
    other = accounts.create_user(db, "grace", "password two", hasher=hasher)
    issued = accounts.issue_token(db, user.id, "laptop")
    with db.read() as conn:
        dump = "\n".join(conn.iterdump())
    assert issued.secret not in dump
    assert accounts.user_for_token(db, issued.secret) == user
    assert accounts.user_for_token(db, issued.secret + "x") is None
    assert not accounts.revoke_token(db, other.id, issued.token.id)  # someone else's token: as if missing
    assert accounts.revoke_token(db, user.id, issued.token.id)
    assert accounts.user_for_token(db, issued.secret) is None


def test_sessions_expire_and_end(db, hasher):
    user = accounts.create_user(db, "heidi", "password one", hasher=hasher)
    live = accounts.start_session(db, user.id)
    session = accounts.session_for(db, live.secret)
    assert session.user == user and session.csrf_token == live.csrf_token
    accounts.end_session(db, live.secret)
    assert accounts.session_for(db, live.secret) is None
    expired = accounts.start_session(db, user.id, ttl_s=-1)
    assert accounts.session_for(db, expired.secret) is None


def test_deleting_a_user_cascades(db, hasher):
    user = accounts.create_user(db, "ivan", "password one", hasher=hasher)
    accounts.issue_token(db, user.id)
    accounts.start_session(db, user.id)
    assert accounts.delete_user(db, user.id)
    with db.read() as conn:
        for table in ("users", "api_tokens", "sessions"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert not accounts.delete_user(db, user.id)

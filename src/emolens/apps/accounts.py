"""Local accounts shared by the apps: users, personal API tokens and browser sessions.

    db = open_database(path, migrations=accounts.MIGRATIONS)
    user = create_user(db, "alice", "correct horse battery", hasher=password_hasher())
    issued = issue_token(db, user.id, name="laptop")     # issued.secret is shown once, stored hashed
    assert user_for_token(db, issued.secret) == user

Passwords are hashed with argon2id (argon2-cffi, salted, parameters stored in the hash,
rehashed on login when the parameters change). API tokens and session ids are 256-bit
random secrets; only their SHA-256 is stored, so a copy of the database cannot be used
to log in. API tokens expire (`ttl_s`, 90 days by default) and are revoked with every
session when the password changes. Passwords follow apps/passwords.py (length, not common,
not the username). Deleting a user deletes every row that references it (ON DELETE CASCADE);
apps that keep files delete those themselves before calling `delete_user`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from emolens.apps.db import Database, Migration, utc_now
from emolens.apps.passwords import PasswordRefused, dummy_hash
from emolens.apps.passwords import check_password as _policy

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "accounts",
        1,
        "users, api tokens, sessions",
        sql="""
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,          -- argon2id, or '!' for an account without a password
            created_at TEXT NOT NULL
        );
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_sha256 TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX api_tokens_user ON api_tokens(user_id);
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            session_sha256 TEXT NOT NULL UNIQUE,
            csrf_token TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX sessions_user ON sessions(user_id);
    """,
    ),
    Migration(
        "accounts",
        2,
        "api tokens expire",
        sql="""
        ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;   -- UTC; tokens from before this version: 90 days on
        UPDATE api_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+90 days') WHERE expires_at IS NULL;
    """,
    ),
)

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,31}")
TOKEN_TTL_S = 90 * 86400
NO_PASSWORD = "!"  # password_hash of accounts made by the CLI: no password matches it
TOKEN_PREFIX = "emo_"


class AccountError(ValueError):
    """A refused account operation; the message says what to do."""


class InvalidUsername(AccountError):
    pass


class WeakPassword(AccountError):
    pass


class UsernameTaken(AccountError):
    pass


class InvalidCredentials(AccountError):
    pass


@dataclass(frozen=True)
class User:
    id: int
    username: str
    created_at: str
    has_password: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "created_at": self.created_at,
            "has_password": self.has_password,
        }


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    created_at: str
    expires_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": self.created_at, "expires_at": self.expires_at}


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `secret` is shown to the user once and never stored."""

    token: ApiToken
    secret: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.token.to_dict(), "token": self.secret}


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user.to_dict(), "expires_at": self.expires_at}


@dataclass(frozen=True)
class IssuedSession:
    """A new browser session: `secret` goes into the cookie, `csrf_token` into pages' forms."""

    secret: str
    csrf_token: str
    expires_at: str
    max_age_s: int

    def to_dict(self) -> dict[str, Any]:
        return {"expires_at": self.expires_at, "max_age_s": self.max_age_s}


def password_hasher(*, fast: bool = False) -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); fast=True only for tests."""
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    return PasswordHasher()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        created_at=row["created_at"],
        has_password=row["password_hash"] != NO_PASSWORD,
    )


def check_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise InvalidUsername("a username is 2 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return username


def check_password(password: str, username: str | None = None) -> str:
    """The password policy (apps/passwords.py) as WeakPassword."""
    try:
        return _policy(password, username)
    except PasswordRefused as exc:
        raise WeakPassword(str(exc)) from None


def create_user(db: Database, username: str, password: str | None, *, hasher: PasswordHasher) -> User:
    """A new account; password None makes one without a password (the CLI's local user)."""
    username = check_username(username)
    hashed = NO_PASSWORD if password is None else hasher.hash(check_password(password, username))
    try:
        with db.write() as conn:
            cur = conn.execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                (username, hashed, utc_now()),
            )
            row = conn.execute("SELECT * FROM users WHERE id = ?", (cur.lastrowid,)).fetchone()
    except sqlite3.IntegrityError:
        raise UsernameTaken(f"the username {username!r} is taken: choose another one") from None
    return _user(row)


def get_user(db: Database, user_id: int) -> User | None:
    with db.read() as conn:
        row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else _user(row)


def find_user(db: Database, username: str) -> User | None:
    with db.read() as conn:
        row = conn.execute("SELECT * FROM users WHERE username = ?", (username.strip(),)).fetchone()
    return None if row is None else _user(row)


def local_user(db: Database, username: str, *, hasher: PasswordHasher) -> User:
    """The named user, created without a password on first use (for the CLI on one's own machine)."""
    user = find_user(db, username)
    if user is not None:
        return user
    try:
        return create_user(db, username, None, hasher=hasher)
    except UsernameTaken:  # another process created it meanwhile
        return find_user(db, username)  # type: ignore[return-value]


def authenticate(
    db: Database, username: str, password: str, *, hasher: PasswordHasher, dummy: str | None = None
) -> User:
    """The user whose password this is, else InvalidCredentials (same message and cost for unknown users).

    Unknown users are checked against `dummy` (passwords.dummy_hash(hasher), made once at start-up),
    so that they cost one verification exactly like known ones and timing does not tell usernames.
    """
    with db.read() as conn:
        row = conn.execute("SELECT * FROM users WHERE username = ?", (username.strip(),)).fetchone()
    wrong = InvalidCredentials("wrong username or password")
    if row is None or row["password_hash"] == NO_PASSWORD:
        try:
            hasher.verify(dummy or dummy_hash(hasher), password)
        except (VerificationError, InvalidHashError):
            pass
        raise wrong
    try:
        hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if hasher.check_needs_rehash(row["password_hash"]):
        with db.write() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hasher.hash(password), row["id"]))
    return _user(row)


def set_password(db: Database, user_id: int, password: str, *, hasher: PasswordHasher) -> None:
    """A new password; every API token and browser session of the user is revoked with the old one."""
    user = get_user(db, user_id)
    hashed = hasher.hash(check_password(password, user.username if user else None))
    with db.write() as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hashed, user_id))
        conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))  # log out other browsers
        conn.execute("DELETE FROM api_tokens WHERE user_id = ?", (user_id,))


def delete_user(db: Database, user_id: int) -> bool:
    """Delete the user and, by cascade, every row of every app that references it."""
    with db.write() as conn:
        deleted = conn.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0
    db.checkpoint()  # no copy of the deleted pages stays behind in the WAL file
    return deleted


def _later(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(row["id"], row["user_id"], row["name"], row["created_at"], row["expires_at"])


def issue_token(db: Database, user_id: int, name: str = "", *, ttl_s: float = TOKEN_TTL_S) -> IssuedToken:
    """A new API token, valid for ttl_s seconds (expired ones of every user are deleted meanwhile)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        conn.execute("DELETE FROM api_tokens WHERE expires_at <= ?", (utc_now(),))
        cur = conn.execute(
            "INSERT INTO api_tokens (user_id, token_sha256, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, _digest(secret), name.strip()[:100], utc_now(), _later(ttl_s)),
        )
        row = conn.execute("SELECT * FROM api_tokens WHERE id = ?", (cur.lastrowid,)).fetchone()
    return IssuedToken(token=_token(row), secret=secret)


def user_for_token(db: Database, secret: str) -> User | None:
    """The user of a live token; None when it is unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    with db.read() as conn:
        row = conn.execute(
            "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_sha256 = ? AND t.expires_at > ?",
            (_digest(secret), utc_now()),
        ).fetchone()
    return None if row is None else _user(row)


def token_expiry(db: Database, secret: str) -> str | None:
    """When a stored token expired or expires (None when unknown or revoked): for a precise 401 message."""
    with db.read() as conn:
        row = conn.execute("SELECT expires_at FROM api_tokens WHERE token_sha256 = ?", (_digest(secret),)).fetchone()
    return None if row is None else row["expires_at"]


def list_tokens(db: Database, user_id: int) -> list[ApiToken]:
    """The user's live tokens (names and dates, never secrets), oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            "SELECT * FROM api_tokens WHERE user_id = ? AND expires_at > ? ORDER BY id", (user_id, utc_now())
        ).fetchall()
    return [_token(r) for r in rows]


def revoke_token(db: Database, user_id: int, token_id: int) -> bool:
    """False when the token does not exist or belongs to someone else (callers answer both with 404)."""
    with db.write() as conn:
        return conn.execute("DELETE FROM api_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)).rowcount > 0


def start_session(db: Database, user_id: int, *, ttl_s: int = 14 * 86400) -> IssuedSession:
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = _later(ttl_s)
    with db.write() as conn:
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (utc_now(),))
        conn.execute(
            "INSERT INTO sessions (user_id, session_sha256, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, _digest(secret), csrf, utc_now(), expires),
        )
    return IssuedSession(secret=secret, csrf_token=csrf, expires_at=expires, max_age_s=ttl_s)


def session_for(db: Database, secret: str) -> Session | None:
    """The live session with this cookie value, or None (unknown or expired)."""
    with db.read() as conn:
        row = conn.execute(
            "SELECT u.*, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.session_sha256 = ? AND s.expires_at > ?",
            (_digest(secret), utc_now()),
        ).fetchone()
    return None if row is None else Session(user=_user(row), csrf_token=row["csrf_token"], expires_at=row["expires_at"])


def end_session(db: Database, secret: str) -> None:
    with db.write() as conn:
        conn.execute("DELETE FROM sessions WHERE session_sha256 = ?", (_digest(secret),))


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())  # type: ignore[union-attr]

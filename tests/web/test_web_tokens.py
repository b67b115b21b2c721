"""API tokens: they expire, they can be listed and revoked, and a password change revokes them all."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations

GOOD = "a long enough password"


def register(client, username: str) -> None:
    assert client.post("/api/v1/auth/register", json={"username": username, "password": GOOD}).status_code == 201


def new_token(client, username: str, password: str = GOOD, **extra) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


def days_from_now(stamp: str) -> float:
    return (
        datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    ) / timedelta(days=1)


def test_tokens_expire_after_token_days_or_sooner_on_request(make_client):
    client = make_client(token_days=30)
    register(client, "alice")
    assert 29.9 < days_from_now(new_token(client, "alice")["expires_at"]) <= 30
    assert 1.9 < days_from_now(new_token(client, "alice", expires_in_days=2)["expires_at"]) <= 2
    assert days_from_now(new_token(client, "alice", expires_in_days=365)["expires_at"]) <= 30  # capped


def test_an_expired_token_answers_401(client):
    register(client, "bob")
    issued = new_token(client, "bob", name="old laptop")
    assert client.get("/api/v1/auth/me", headers=bearer(issued)).status_code == 200
    with client.app.state.db.write() as conn:  # time passes
        conn.execute("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ?", (issued["id"],))
    r = client.get("/api/v1/auth/me", headers=bearer(issued))
    assert r.status_code == 401 and "expired at 2020-01-01T00:00:00Z" in r.json()["detail"]
    assert client.get("/api/v1/journal/checkins", headers=bearer(issued)).status_code == 401
    with client.websocket_connect("/api/v1/sessions/x/live", headers=bearer(issued)) as ws:
        assert ws.receive_json()["fatal"] is True  # the counter camera refuses it too


def test_active_tokens_are_listed_and_a_revoked_one_answers_401(client):
    register(client, "carol")
    laptop, phone = new_token(client, "carol", name="laptop"), new_token(client, "carol", name="phone")
    listed = client.get("/api/v1/auth/tokens", headers=bearer(laptop)).json()
    assert [(t["name"], t["expires_at"]) for t in listed] == [
        ("laptop", laptop["expires_at"]),
        ("phone", phone["expires_at"]),
    ]
    assert "token" not in listed[0]  # never the secret
    assert client.delete(f"/api/v1/auth/tokens/{phone['id']}", headers=bearer(laptop)).status_code == 204
    r = client.get("/api/v1/auth/me", headers=bearer(phone))
    assert r.status_code == 401 and "unknown or revoked" in r.json()["detail"]
    assert [t["name"] for t in client.get("/api/v1/auth/tokens", headers=bearer(laptop)).json()] == ["laptop"]


def test_a_password_change_revokes_every_token_and_session(client):
    register(client, "dave")
    first, second = new_token(client, "dave"), new_token(client, "dave")
    csrf = client.get("/login").cookies.get("emolens_csrf") or client.cookies.get("emolens_csrf")
    client.post("/login", data={"username": "dave", "password": GOOD, "csrf_token": csrf}, follow_redirects=False)
    assert client.get("/api/v1/auth/me").status_code == 200  # the browser's cookie
    wrong = client.post(
        "/api/v1/auth/password",
        headers=bearer(first),
        json={"current_password": "not it at all", "new_password": "a brand new secret"},
    )
    assert wrong.status_code == 401
    weak = client.post(
        "/api/v1/auth/password", headers=bearer(first), json={"current_password": GOOD, "new_password": "12345678"}
    )
    assert weak.status_code == 422 and client.get("/api/v1/auth/me", headers=bearer(first)).status_code == 200
    r = client.post(
        "/api/v1/auth/password",
        headers=bearer(first),
        json={"current_password": GOOD, "new_password": "a brand new secret"},
    )
    assert r.status_code == 204
    for token in (first, second):
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "dave", "password": GOOD}).status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers=bearer(new_token(client, "dave", "a brand new secret"))).status_code
        == 200
    )


def test_the_cli_password_command_revokes_tokens_too(tmp_path):
    db = open_database(tmp_path / "e.db", all_migrations())
    hasher = accounts.password_hasher(fast=True)
    user = accounts.create_user(db, "erin", GOOD, hasher=hasher)
    issued = accounts.issue_token(db, user.id, "script")
    accounts.set_password(db, user.id, "another good secret", hasher=hasher)
    assert accounts.user_for_token(db, issued.secret) is None and accounts.list_tokens(db, user.id) == []


def test_tokens_from_before_expiry_get_90_days_at_the_upgrade(tmp_path):
    path = tmp_path / "e.db"
    old = open_database(path, [accounts.MIGRATIONS[0]])
    with old.write() as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, created_at) VALUES ('fay', '!', '2025-01-01T00:00:00Z')"
        )
        conn.execute(
            "INSERT INTO api_tokens (user_id, token_sha256, name, created_at) VALUES (1, ?, 'old', "
            "'2025-01-01T00:00:00Z')",
            (accounts._digest("emo_old"),),
        )
    db = open_database(path, all_migrations())
    assert db.versions()["accounts"] == 2
    (token,) = accounts.list_tokens(db, 1)
    assert 89.9 < days_from_now(token.expires_at) <= 90
    assert accounts.user_for_token(db, "emo_old").username == "fay"

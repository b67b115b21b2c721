"""Accounts on the web: /api/v1/auth, sign-in pages, session cookies, CSRF, bearer tokens."""

from __future__ import annotations

import re
import sqlite3

import pytest

from emolens.web.auth import PRELOGIN_COOKIE, SESSION_COOKIE, safe_next

from helpers import sign_up


def form_token(client, path="/login") -> str:
    r = client.get(path)
    assert r.status_code == 200 and PRELOGIN_COOKIE in client.cookies
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


def sign_in_browser(client, username="alice", password="a long enough password", register=True):
    """Register (or sign in) through the HTML form like a browser; returns the page's CSRF token."""
    token = form_token(client, "/register" if register else "/login")
    data = {"username": username, "password": password, "csrf_token": token, "next": "/video"}
    if register:
        data["confirm"] = password
    r = client.post("/register" if register else "/login", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/video", r.text
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = client.get("/video")
    assert "Signed in as <strong>" + username in page.text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_first_start_creates_only_an_empty_database(client, settings):
    assert settings.db_path.is_file()
    conn = sqlite3.connect(settings.db_path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    finally:
        conn.close()


def test_register_token_and_me(client):
    r = client.post("/api/v1/auth/register", json={"username": "alice", "password": "a long enough password"})
    assert r.status_code == 201 and r.json()["username"] == "alice" and "long enough" not in r.text
    assert (
        client.post("/api/v1/auth/register", json={"username": "ALICE", "password": "another password"}).status_code
        == 409
    )
    assert client.post("/api/v1/auth/register", json={"username": "bob", "password": "short"}).status_code == 422
    bad = client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong password"})
    assert bad.status_code == 401 and bad.json()["detail"] == "wrong username or password"
    r = client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": "a long enough password", "name": "laptop"}
    )
    assert r.status_code == 200 and r.json()["token"].startswith("emo_") and r.json()["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert me.status_code == 200 and me.json()["username"] == "alice"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer emo_nope"}, {"Authorization": "Basic abc"}])
def test_without_valid_credentials_the_api_answers_401(client, headers):
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and r.json()["detail"]


def test_someone_elses_token_id_reads_as_missing(client):
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    (bob_token,) = client.get("/api/v1/auth/tokens", headers=bob).json()
    theirs = client.delete(f"/api/v1/auth/tokens/{bob_token['id']}", headers=alice)
    missing = client.delete("/api/v1/auth/tokens/999999", headers=alice)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(str(bob_token["id"]), "N") == missing.json()["detail"].replace("999999", "N")
    assert client.get("/api/v1/auth/me", headers=bob).status_code == 200  # still valid
    assert client.delete(f"/api/v1/auth/tokens/{bob_token['id']}", headers=bob).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bob).status_code == 401


def test_browser_session_and_csrf(client):
    csrf = sign_in_browser(client)
    assert client.get("/api/v1/auth/me").json()["username"] == "alice"  # the cookie alone reads
    client.post("/api/v1/auth/token", json={"username": "alice", "password": "a long enough password"})
    (tok,) = client.get("/api/v1/auth/tokens").json()
    forged = client.delete(f"/api/v1/auth/tokens/{tok['id']}")  # cookie but no CSRF token: refused
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    wrong = client.delete(f"/api/v1/auth/tokens/{tok['id']}", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert client.delete(f"/api/v1/auth/tokens/{tok['id']}", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403  # forged sign-out
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/api/v1/auth/me").status_code == 401


def test_forged_login_post_is_refused(client):
    sign_up(client, "alice")
    r = client.post(
        "/login",
        data={"username": "alice", "password": "a long enough password", "csrf_token": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert "CSRF" in r.text


def test_login_form_errors_and_session_renewal(client):
    sign_up(client, "alice")
    token = form_token(client)
    r = client.post("/login", data={"username": "alice", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "wrong username or password" in r.text and 'value="alice"' in r.text
    client.cookies.set(SESSION_COOKIE, "chosen-by-an-attacker")
    r = client.post(
        "/login",
        data={"username": "alice", "password": "a long enough password", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    issued = re.search(SESSION_COOKIE + r"=([^;]+)", r.headers["set-cookie"]).group(1)
    assert issued != "chosen-by-an-attacker"


@pytest.mark.parametrize(
    "target, want",
    [
        ("/journal", "/journal"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_redirects_stay_on_this_site(target, want):
    assert safe_next(target) == want

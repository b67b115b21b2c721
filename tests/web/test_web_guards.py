"""Guards in front of every route: body size before reading, body pace, trusted hosts, WebSocket Origin, bad JSON."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from starlette.websockets import WebSocketDisconnect

from emolens.web import create_app
from emolens.web.guards import default_hosts, host_name

from helpers import sign_up

JSON_ROUTES = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/sessions"),
    ("post", "/api/v1/journal/checkins"),
    ("patch", "/api/v1/journal/checkins/1"),
]
BAD_JSON = {
    "invalid": b'{"mood": "happy",',
    "empty": b"",
    "not utf-8": b'{"mood": "\xff\xfe"}',
    "nested": b"[" * 30_000 + b"]" * 30_000,
    "nested past the limit": b"[" * 100_000 + b"]" * 100_000,
    "huge int": b'{"mood": ' + b"9" * 5000 + b"}",
    "not an object": b"[1, 2, 3]",
    "null": b"null",
}


def call_asgi(
    app, method: str, path: str, headers: dict[str, str], chunks, delay: float = 0.0
) -> tuple[int, dict, int]:
    """Drive the app as a server would; returns (status, JSON body, body chunks the app asked for)."""
    sent: list[dict] = []
    asked = [0]
    parts = list(chunks)

    async def receive():
        if asked[0] < len(parts):
            asked[0] += 1
            await asyncio.sleep(delay)
            return {"type": "http.request", "body": parts[asked[0] - 1], "more_body": asked[0] < len(parts)}
        await asyncio.sleep(3600)  # then only a disconnect would come

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body or b"null"), asked[0]


def test_a_huge_body_is_refused_before_a_byte_is_read(settings):
    app = create_app(settings)
    for path in ("/api/v1/sessions", "/api/v1/journal/checkins/1", "/api/v1/auth/token", "/login"):
        status, body, asked = call_asgi(
            app,
            "POST",
            path,
            {"host": "127.0.0.1", "content-length": str(300 * 2**20), "content-type": "application/json"},
            [b"{}"],
        )
        assert (status, asked) == (413, 0), path
        assert "64 KB (EMOLENS_MAX_JSON_KB)" in body["detail"]
    status, body, asked = call_asgi(
        app, "POST", "/api/v1/analyze", {"host": "127.0.0.1", "content-length": str(30 * 2**20)}, [b""]
    )
    assert (status, asked) == (413, 0) and "10.0 MB (EMOLENS_MAX_UPLOAD_MB)" in body["detail"]


def test_uploads_that_need_an_account_are_refused_unread_without_credentials(settings):
    app = create_app(settings)
    for path in ("/api/v1/journal/checkins", "/api/v1/journal/baseline", "/api/v1/sessions/abc/video"):
        status, body, asked = call_asgi(
            app,
            "POST",
            path,
            {"host": "127.0.0.1", "content-length": "5000000", "content-type": "multipart/form-data; boundary=x"},
            [b"x" * 1000],
        )
        assert (status, asked) == (401, 0) and "sign in first" in body["detail"], path


def test_a_body_sent_without_length_is_cut_at_the_limit(make_client):
    client = make_client(max_json_kb=1)

    def chunks():
        for _ in range(100):
            yield b" " * 1024

    r = client.post("/api/v1/sessions", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "more than" in r.json()["detail"]


def test_a_trickled_body_times_out_with_408(settings):
    app = create_app(settings.with_(body_timeout_s=0.3, min_body_kbps=1))
    trickle = [b"{"] + [b" "] * 40 + [b"}"]  # one byte every 50 ms: 20 B/s
    status, body, asked = call_asgi(
        app,
        "POST",
        "/api/v1/auth/token",
        {"host": "127.0.0.1", "content-type": "application/json"},
        trickle,
        delay=0.05,
    )
    assert status == 408 and "too slowly" in body["detail"] and "EMOLENS_BODY_TIMEOUT_S" in body["detail"]
    assert asked < len(trickle)


def test_a_steady_body_is_not_cut(make_client):
    client = make_client(body_timeout_s=10, min_body_kbps=1)  # started: the route can answer
    steady = [b'{"username": "nobody",', b' "password": "whatever12"}']  # 0.2 s in all, well within 10 s
    status, body, _ = call_asgi(
        client.app, "POST", "/api/v1/auth/token", {"host": "127.0.0.1", "content-type": "application/json"}, steady, 0.1
    )
    assert status == 401 and "wrong username or password" in body["detail"]


@pytest.mark.parametrize("kind", BAD_JSON)
def test_malformed_json_is_400_or_422_never_500(client, kind):
    headers = {**sign_up(client, "alice"), "content-type": "application/json"}
    for method, path in JSON_ROUTES:
        r = client.request(method.upper(), path, content=BAD_JSON[kind], headers=headers)
        too_big = kind == "nested past the limit" and path != "/api/v1/journal/checkins"  # check-ins take uploads
        assert r.status_code in ((413,) if too_big else (400, 422)), (path, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str) and "Traceback" not in r.text
    r = client.post("/api/v1/journal/checkins", content=BAD_JSON[kind], headers=headers)
    expected = {
        "invalid": "invalid JSON",
        "empty": "empty",
        "not utf-8": "UTF-8",
        "nested": "nested too deeply",
        "huge int": "invalid JSON",
        "nested past the limit": "nested too deeply",
    }  # uploads: a bigger limit
    if kind in expected:
        assert expected[kind] in r.json()["detail"]


def test_default_trusted_hosts_answer_local_names_only(make_client):
    client = make_client(trusted_hosts="")
    for url in (
        "http://127.0.0.1/api/v1/health",
        "http://localhost:8000/api/v1/health",
        "http://127.0.0.1:8000/api/v1/model",
    ):
        assert client.get(url).status_code == 200, url
    for url in ("http://attacker.example/api/v1/health", "http://testserver/", "http://192.168.1.9:8000/"):
        r = client.get(url)
        assert r.status_code == 400 and "EMOLENS_TRUSTED_HOSTS" in r.json()["detail"], url
    assert make_client(trusted_hosts="*").get("http://anything.example/api/v1/health").status_code == 200
    named = make_client(trusted_hosts="emolens.lan")
    assert named.get("http://emolens.lan/api/v1/health").status_code == 200
    assert named.get("http://127.0.0.1/api/v1/health").status_code == 400


def test_websockets_need_a_trusted_host_and_origin(make_client):
    client = make_client(trusted_hosts="")
    with client.websocket_connect("ws://127.0.0.1:8000/api/v1/live") as ws:  # no Origin: a script, not a page
        assert ws.receive_json()["type"] == "ready"
    with client.websocket_connect("ws://127.0.0.1:8000/api/v1/live", headers={"origin": "http://127.0.0.1:8000"}) as ws:
        assert ws.receive_json()["type"] == "ready"
    for origin in ("http://attacker.example", "null", "http://127.0.0.1.attacker.example"):
        with pytest.raises(WebSocketDisconnect) as err:
            with client.websocket_connect("ws://127.0.0.1:8000/api/v1/live", headers={"origin": origin}):
                pass
        assert err.value.code == 1008, origin
    with pytest.raises(WebSocketDisconnect):  # DNS rebinding: an attacker's name pointing at us
        with client.websocket_connect("ws://attacker.example/api/v1/live"):
            pass


def test_host_names_and_defaults():
    assert host_name("Example.ORG:8000") == "example.org" and host_name("[::1]:8000") == "::1"
    assert host_name("::1") == "::1" and host_name("") == ""
    assert default_hosts("127.0.0.1", "") == ["127.0.0.1", "::1", "localhost"]
    assert default_hosts("127.0.0.1", " a.example, B.example ") == ["a.example", "b.example"]
    everywhere = default_hosts("0.0.0.0", "")
    assert socket.gethostname().lower() in everywhere and "localhost" in everywhere


def test_every_limit_is_a_setting_with_a_checked_value():
    from emolens.web.settings import Settings

    s = Settings.from_env(
        {
            "EMOLENS_MAX_JSON_KB": "8",
            "EMOLENS_MAX_DECODE_MB": "128",
            "EMOLENS_MAX_DECODES": "1",
            "EMOLENS_BODY_TIMEOUT_S": "5",
            "EMOLENS_TOKEN_DAYS": "7",
            "EMOLENS_MAX_HASHES": "1",
            "EMOLENS_TRUSTED_HOSTS": "a.example",
            "EMOLENS_LOGIN_USER_FAILURES": "3",
        }
    )
    assert (s.max_json_bytes, s.max_decode_bytes, s.token_ttl_s) == (8192, 128 * 2**20, 7 * 86400)
    for name in (
        "max_json_kb",
        "max_decode_mb",
        "max_decodes",
        "max_video_pixels",
        "body_timeout_s",
        "min_body_kbps",
        "token_days",
        "login_user_failures",
        "login_address_failures",
        "login_backoff_s",
        "login_backoff_max_s",
        "max_hashes",
    ):
        with pytest.raises(ValueError, match=name):
            Settings(**{name: 0})


BAD_FORMS = [
    (b"\xff\xfe=\xff&a=%ZZ", "application/x-www-form-urlencoded"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    (b"garbage", "multipart/form-data"),
    (b"", "multipart/form-data; boundary=x"),
    (
        b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n\xff\xd8\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
    ),
]


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/register",
        "/api/v1/analyze",
        "/api/v1/analyze/video",
        "/api/v1/journal/checkins",
        "/api/v1/journal/baseline",
        "/api/v1/sessions/x/video",
    ],
)
def test_malformed_forms_are_answered_never_500(client, path):
    headers = sign_up(client, "alice")
    for body, kind in BAD_FORMS:
        r = client.post(path, content=body, headers={"content-type": kind, **headers})
        assert 400 <= r.status_code < 500, (path, body[:20], r.status_code, r.text[:300])

"""/api/v1/sessions: accounts and ownership, a video of real photos scored end to end, aggregates,
CSV, the counter camera WebSocket (two sessions at once never mix), retention at startup, pages."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.score import ScoreParams
from emolens.apps.satisfaction.video import Scoring
from emolens.core.labels import EMOTIONS
from emolens.web.routers.satisfaction.api import get_scoring

from helpers import service_video, sign_up

NEW = {"location": "Main St", "agent": "ana"}


@pytest.fixture(scope="module")
def counter_clip(tmp_path_factory) -> bytes:
    return service_video(tmp_path_factory.mktemp("clip") / "counter.mp4").read_bytes()


@pytest.fixture(scope="module")
def empty_clip(tmp_path_factory) -> bytes:
    return service_video(
        tmp_path_factory.mktemp("empty") / "empty.mp4", frames=20, stayer=False, passer=(0, 0)
    ).read_bytes()


def wait_job(client, url: str, timeout: float = 600.0, headers=None) -> dict:
    """Poll a job; a session's job answers only its account (headers, or the client's cookie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {url} did not finish")


def upload(client, headers, sid: str, data: bytes, name: str = "counter.mp4"):
    return client.post(f"/api/v1/sessions/{sid}/video", headers=headers, files={"video": (name, data, "video/mp4")})


def test_sessions_need_an_account_and_belong_to_it(client):
    assert client.post("/api/v1/sessions", json=NEW).status_code == 401
    shop, rival = sign_up(client, "shop"), sign_up(client, "rival")
    r = client.post("/api/v1/sessions", json={**NEW, "customer_ref": "T-17"}, headers=shop)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["url"] == f"/api/v1/sessions/{sid}"
    got = client.get(f"/api/v1/sessions/{sid}", headers=shop).json()
    assert (got["status"], got["score"], got["customer_ref"], got["timeline"]) == ("open", None, "T-17", None)
    for method, path in (("get", ""), ("get", "/timeline.csv"), ("delete", "")):
        r = getattr(client, method)(f"/api/v1/sessions/{sid}{path}", headers=rival)
        assert r.status_code == 404 and "no session" in r.json()["detail"], (method, path)
    assert upload(client, rival, sid, b"not read").status_code == 404
    assert client.get("/api/v1/sessions", headers=rival).json() == []
    assert client.post("/api/v1/sessions", json={"location": "x", "agent": ""}, headers=shop).status_code == 422
    assert client.get("/api/v1/sessions?from=yesterday", headers=shop).status_code == 422
    assert client.delete(f"/api/v1/sessions/{sid}", headers=shop).status_code == 204
    assert client.get(f"/api/v1/sessions/{sid}", headers=shop).status_code == 404


def test_video_session_end_to_end(client, counter_clip):
    shop = sign_up(client, "shop")
    sid = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    r = upload(client, shop, sid, counter_clip)
    assert r.status_code == 202, r.text
    created = r.json()
    assert created["url"] == f"/api/v1/jobs/{created['job']}" and created["session_url"] == f"/api/v1/sessions/{sid}"
    assert client.get(created["url"]).status_code == 404  # the session's job is not anyone's to read
    job = wait_job(client, created["url"], headers=shop)
    assert job["status"] == "done", job["error"]
    assert job["progress"] == 1.0 and job["summary"]["session"] == sid
    s = client.get(f"/api/v1/sessions/{sid}", headers=shop).json()
    assert (s["status"], s["source"], s["frames"]) == ("done", "video", 60)
    assert s["model_sha256"] == client.get("/api/v1/model").json()["sha256"]  # the model that read it
    assert 0 <= s["score"] <= 100 and s["reason"] is None and 0 < s["confidence"] <= 1
    e = s["explanation"]
    assert {"summary", "start", "end", "negative_moments", "positive_moments", "share", "episodes"} <= set(e)
    assert e["summary"].startswith(f"Score {s['score']:g}/100") and set(e["share"]) == set(EMOTIONS)
    tl = s["timeline"]
    assert list(tl["probabilities"]) == list(EMOTIONS) and len(tl["t"]) == len(tl["valence"]) == 12  # 6 s / 0.5 s
    assert all(v is not None for v in tl["valence"]) and all(p == 1.0 for p in tl["present"])
    roles = sorted(t["role"] for t in s["customer"]["tracks"])
    assert roles == ["customer", "other"]  # the passer-by is not scored
    assert s["details"]["usable_seconds"] == pytest.approx(6.0, abs=0.3)
    assert job["timeline"] == tl
    store_jobs = client.app.state.jobs
    assert list(store_jobs.get(created["job"]).workdir.iterdir()) == [], "the uploaded video is deleted"
    again = upload(client, shop, sid, counter_clip)
    assert again.status_code == 409 and "is done" in again.json()["detail"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/sessions/{sid}/timeline.csv", headers=shop).text)))
    assert len(rows) == 12 and set(EMOTIONS) <= set(rows[0])


def test_too_little_signal_is_null_with_a_reason(client, empty_clip):
    shop = sign_up(client, "shop")
    sid = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    job = wait_job(client, upload(client, shop, sid, empty_clip).json()["url"], headers=shop)
    assert job["status"] == "done"
    s = client.get(f"/api/v1/sessions/{sid}", headers=shop).json()
    assert s["score"] is None and s["reason"] == "no face was seen during the session" and s["confidence"] == 0
    bad = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    r = upload(client, shop, bad, b"\x00\x01 not a video", name="broken.mp4")
    assert r.status_code == 400
    failed = client.get(f"/api/v1/sessions/{bad}", headers=shop).json()
    assert failed["status"] == "failed" and "broken.mp4" in failed["error"]


def test_list_filters_aggregates_and_csv(client):
    shop = sign_up(client, "shop")
    db = client.app.state.db
    user = accounts.find_user(db, "shop")
    for day, loc, agent, score in [
        ("2026-03-02", "Main St", "ana", 80),
        ("2026-03-02", "Airport", "ben", 40),
        ("2026-03-03", "Main St", "ben", 60),
        ("2026-03-09", "Main St", "ana", None),
    ]:
        s = store.create_session(db, user.id, location=loc, agent=agent, started_at=f"{day}T10:00:00Z")
        with db.write() as conn:
            conn.execute("UPDATE service_sessions SET status='done', score=?, confidence=0.5 WHERE id=?", (score, s.id))
    listed = client.get("/api/v1/sessions?location=Main St&from=2026-03-02&to=2026-03-03", headers=shop).json()
    assert [(s["started_at"][:10], s["agent"]) for s in listed] == [("2026-03-03", "ben"), ("2026-03-02", "ana")]
    assert "timeline" not in listed[0]
    by_agent = client.get("/api/v1/sessions/aggregate?by=agent", headers=shop).json()
    assert by_agent["by"] == "agent"
    groups = {g["key"]: g for g in by_agent["groups"]}
    assert (groups["ana"]["sessions"], groups["ana"]["scored"], groups["ana"]["mean_score"]) == (2, 1, 80.0)
    assert groups["ben"]["mean_score"] == 50.0 and groups["ben"]["slope_per_week"] == pytest.approx(20 * 7)
    by_loc = client.get("/api/v1/sessions/aggregate?by=location&from=2026-03-01&to=2026-03-05", headers=shop).json()
    assert [(g["key"], g["mean_score"]) for g in by_loc["groups"]] == [("Airport", 40.0), ("Main St", 70.0)]
    days = client.get("/api/v1/sessions/aggregate?by=day", headers=shop).json()["groups"]
    assert [(g["key"], g["mean_score"], g["change"]) for g in days] == [
        ("2026-03-02", 60.0, None),
        ("2026-03-03", 60.0, 0.0),
        ("2026-03-09", None, None),
    ]
    assert client.get("/api/v1/sessions/aggregate?by=month", headers=shop).status_code == 422
    r = client.get("/api/v1/sessions/export.csv?agent=ben", headers=shop)
    assert r.headers["content-type"].startswith("text/csv") and "sessions.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["location"], row["score"]) for row in rows] == [("Main St", "60.0"), ("Airport", "40.0")]
    assert client.get("/api/v1/sessions/aggregate?by=day", headers=sign_up(client, "rival")).json()["groups"] == []


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def test_live_sessions_from_two_browsers_never_mix(client, astronaut_jpeg):
    quick = Scoring(CustomerRule(min_seconds=0.1), ScoreParams(min_usable_s=0.1))
    client.app.dependency_overrides[get_scoring] = lambda: quick  # a few frames are enough to score here
    shop = sign_up(client, "shop")
    a = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    b = client.post("/api/v1/sessions", json={"location": "Main St", "agent": "ben"}, headers=shop).json()["id"]
    wall = jpeg(np.full((480, 640, 3), 200, np.uint8))
    with (
        client.websocket_connect(f"/api/v1/sessions/{a}/live", headers=shop) as wa,
        client.websocket_connect(f"/api/v1/sessions/{b}/live", headers=shop) as wb,
    ):
        assert wa.receive_json()["session"] == a and wb.receive_json()["session"] == b
        with client.websocket_connect(f"/api/v1/sessions/{a}/live", headers=shop) as again:  # one camera per session
            refused = again.receive_json()
            assert refused["fatal"] and "is recording" in refused["message"]
        for _ in range(8):  # interleaved: a sees the astronaut, b a blank wall
            wa.send_bytes(astronaut_jpeg)
            wb.send_bytes(wall)
            ra, rb = wa.receive_json(), wb.receive_json()
            assert len(ra["faces"]) == 1 and rb["faces"] == []
            time.sleep(0.03)
        wa.send_bytes(b"garbage")
        assert wa.receive_json()["type"] == "error"
        wa.send_text("stop")
        wb.send_text("stop")
        da, db_ = wa.receive_json(), wb.receive_json()
    assert da["type"] == "done" and da["session"]["id"] == a and da["session"]["frames"] == 8
    assert da["session"]["score"] is not None and da["session"]["url"] == f"/sessions/{a}"
    assert db_["session"]["score"] is None and db_["session"]["reason"] == "no face was seen during the session"
    sa = client.get(f"/api/v1/sessions/{a}", headers=shop).json()
    assert (sa["status"], sa["source"], sa["frames"]) == ("done", "live", 8) and sa["score"] == da["session"]["score"]
    assert [t["role"] for t in sa["customer"]["tracks"]] == ["customer"]


def test_live_socket_refuses_strangers(client, astronaut_jpeg):
    shop, rival = sign_up(client, "shop"), sign_up(client, "rival")
    sid = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    for headers, needle in (({}, "sign in"), (rival, "no session")):
        with client.websocket_connect(f"/api/v1/sessions/{sid}/live", headers=headers) as ws:
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["fatal"] and needle in msg["message"]
    assert client.get(f"/api/v1/sessions/{sid}", headers=shop).json()["status"] == "open"
    with client.websocket_connect(f"/api/v1/sessions/{sid}/live", headers=shop) as ws:  # leaves without "stop"
        ws.receive_json()
        ws.send_bytes(astronaut_jpeg)
        ws.receive_json()
    deadline = time.monotonic() + 120
    while client.get(f"/api/v1/sessions/{sid}", headers=shop).json()["status"] != "done":
        assert time.monotonic() < deadline, "a dropped connection is still scored"
        time.sleep(0.05)


def test_retention_runs_at_startup(make_client, settings):
    db = open_database(settings.db_path, all_migrations())
    user = accounts.create_user(db, "shop", None, hasher=accounts.password_hasher(fast=True))
    now = datetime.now(timezone.utc)
    ids = {}
    for days in (45, 29):
        when = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ids[days] = store.create_session(db, user.id, location="x", agent="y", started_at=when).id
    make_client(satisfaction_retention_days=30)
    deadline = time.monotonic() + 120
    while store.get_session(db, user.id, ids[45]) is not None:
        assert time.monotonic() < deadline, "the 45-day-old session was not deleted"
        time.sleep(0.05)
    assert store.get_session(db, user.id, ids[29]) is not None


def test_session_video_uploads_are_size_limited(make_client):
    client = make_client(max_video_mb=1)
    shop = sign_up(client, "shop")
    sid = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    r = upload(client, shop, sid, b"\x00" * (2 << 20))
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_bad_customer_rule_settings_fail_at_startup(settings):
    from emolens.web import create_app

    with pytest.raises(ValueError, match="EMOLENS_SATISFACTION_RULE"):
        create_app(settings.with_(satisfaction_roi="0.5,0,1"))


def browser_sign_in(client, username: str) -> None:
    """Register through the HTML form like a browser: the client then carries the session cookie."""
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/register").text).group(1)
    r = client.post(
        "/register",
        data={
            "username": username,
            "password": "a long enough password",
            "confirm": "a long enough password",
            "csrf_token": token,
            "next": "/sessions",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_pages_dashboard_counter_and_session(client, counter_clip):
    r = client.get("/sessions?location=x", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fsessions%3Flocation%3Dx"
    assert client.get("/sessions/counter", follow_redirects=False).status_code == 303
    browser_sign_in(client, "shop")
    empty = client.get("/sessions")
    assert (
        empty.status_code == 200
        and "No sessions yet" in empty.text
        and 'aria-current="page">Satisfaction' in empty.text
    )
    counter = client.get("/sessions/counter").text
    assert "Only numbers are kept" in counter and "deleted after 90 days" in counter
    assert '<option value="blur" selected>' in counter and "js/counter.js" in counter
    assert counter.index("js/counter.js") < counter.index("js/live.js"), "the hooks are set before live.js runs"
    shop = sign_up(client, "shop-api")  # the API with a token; the pages with the cookie of "shop"
    sid = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    assert client.get(f"/sessions/{sid}").status_code == 404  # another account's session
    mine = client.post("/api/v1/sessions", json=NEW, headers={"X-CSRF-Token": _csrf(client)}).json()["id"]
    r = client.post(
        f"/api/v1/sessions/{mine}/video",
        headers={"X-CSRF-Token": _csrf(client)},
        files={"video": ("counter.mp4", counter_clip, "video/mp4")},
    )
    assert r.status_code == 202, r.text
    wait_job(client, r.json()["url"])
    page = client.get(f"/sessions/{mine}").text
    assert 'id="score"' in page and "/vendor/plotly.min.js" in page and '"timeline"' in page
    assert "Most negative moments" in page and 'id="tracks-table"' in page and "customer" in page
    dash = client.get("/sessions?period=week&by=agent").text
    assert f'href="/sessions/{mine}"' in dash and '"trend"' in dash and '"groups"' in dash
    assert "/api/v1/sessions/export.csv" in dash and "<td>ana</td>" in dash
    bad = client.get("/sessions?from=nonsense")  # a bad date is a message on the page, not an error page
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "YYYY-MM-DD" in bad.text


def _csrf(client) -> str:
    import re

    return re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/sessions/counter").text).group(1)


def test_session_page_says_too_little_face_time_once_and_blank_charts_say_why(client):
    from emolens.apps.satisfaction.analysis import analyze_recording
    from emolens.apps.satisfaction.recording import FaceSample, Recording

    browser_sign_in(client, "shop")
    db = client.app.state.db
    user = accounts.find_user(db, "shop")
    p = tuple(float(k == "happy") for k in EMOTIONS)
    rec = Recording(
        EMOTIONS,
        tuple(i / 10 for i in range(20)),  # 2 s of face: too little for a score
        tuple(FaceSample(i, 1, (0.3, 0.3, 0.2, 0.2), p, True) for i in range(20)),
    )
    sid = store.create_session(db, user.id, location="Main St", agent="ana", source="video").id
    store.save_analysis(db, sid, analyze_recording(rec))
    page = client.get(f"/sessions/{sid}").text
    assert page.count("too little usable customer face time") == 1
    dash = client.get("/sessions").text  # one session, no score: the per-location chart says why it is empty
    assert "No scored session here: a score needs at least 5 s of usable customer face time" in dash

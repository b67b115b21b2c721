"""The journal API and page: check-ins, corrections, baseline, summary, export, account deletion, ownership, CSRF."""

from __future__ import annotations

import csv
import io
import re

import cv2
import numpy as np
import pytest

from emolens.core.labels import EMOTIONS
from emolens.core.results import Face, Quality
from emolens.web.deps import get_engine

from helpers import sign_up

J = "/api/v1/journal"


def probs(**given):
    rest = (1.0 - sum(given.values())) / (len(EMOTIONS) - len(given))
    return {e: given.get(e, rest) for e in EMOTIONS}


class FakeEngine:
    """Reads every image as the same face (probabilities set per test); 'blank' images have no face."""

    labels, detector, sha256 = EMOTIONS, "fake", "f" * 64

    def __init__(self, p):
        top = max(p, key=p.get)
        face = Face(
            box=(10, 10, 80, 80),
            score=0.99,
            landmarks=None,
            probabilities=p,
            emotion=top,
            confidence=p[top],
            uncertain=False,
            quality=Quality(False, False, False, 100.0, 120.0),
        )

        class Analyzer:
            def analyze(self, image):
                return [] if image.mean() < 1 else [face]

            def model_crop(self, image, face):
                return cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (48, 48))

        self.analyzer = Analyzer()

    def model_ref(self):
        return {"name": "fake", "sha256": "0" * 64}


def jpeg(value: int = 128) -> bytes:
    return cv2.imencode(".jpg", np.full((120, 160, 3), value, np.uint8))[1].tobytes()


def photo(data: bytes | None = None, field="image", name="me.jpg"):
    return {field: (name, data or jpeg(), "image/jpeg")}


@pytest.fixture
def users(client):
    """Two accounts; images are read by a fake engine (a plain grey picture 'shows' a happy face)."""
    client.app.dependency_overrides[get_engine] = lambda: FakeEngine(probs(happy=0.6))
    return sign_up(client, "alice"), sign_up(client, "bob")


def test_photo_checkin_stores_numbers_and_no_image(client, users, settings, astronaut_jpeg):
    alice, _ = users
    client.app.dependency_overrides.clear()  # the real (tiny) model on a real face
    r = client.post(
        f"{J}/checkins", headers=alice, files=photo(astronaut_jpeg), data={"note": "ok day", "tags": "work"}
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["source"] == "photo" and c["frames"] == 1 and c["has_image"] is False
    assert set(c["shares"]) == set(EMOTIONS) and sum(c["shares"].values()) == pytest.approx(1.0, abs=1e-3)
    assert c["emotion"] == max(c["shares"], key=c["shares"].get) and c["tags"] == ["work"]
    stored = [p for p in settings.data_dir.rglob("*") if p.is_file() and not p.name.startswith("emolens.db")]
    assert stored == []  # no image anywhere in the data folder
    assert client.get(f"{J}/checkins/{c['id']}/image", headers=alice).status_code == 404
    raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("emolens.db*"))
    assert astronaut_jpeg[200:264] not in raw  # nor inside the database


def test_group_photo_checkin_says_which_face_was_read(client, users, astronaut_jpeg):
    from helpers import crowded_group_photo

    alice, _ = users
    client.app.dependency_overrides.clear()  # the real (tiny) model and detector
    group = cv2.imencode(".png", crowded_group_photo()[0])[1].tobytes()
    r = client.post(f"{J}/checkins", headers=alice, files={"image": ("group.png", group, "image/png")})
    assert r.status_code == 201, r.text
    assert r.json()["notice"] == "6 faces found, used the largest"
    assert client.post(f"{J}/checkins", headers=alice, files=photo(astronaut_jpeg)).json()["notice"] is None  # alone
    listed = client.get(f"{J}/checkins", headers=alice).json()
    assert all(c["notice"] is None for c in listed)  # said once, when it happens; not stored


def test_calibrating_with_a_smile_warns_and_asks_to_retake(client, users):
    alice, _ = users
    client.app.dependency_overrides[get_engine] = lambda: FakeEngine(probs(happy=0.88))
    b = client.post(f"{J}/baseline", headers=alice, files=photo()).json()
    assert b["warning"].startswith("your resting face reads happy 88%") and "calibrate again" in b["warning"]
    assert client.get(f"{J}/baseline", headers=alice).json()["warning"] == b["warning"]  # the page shows it later
    client.app.dependency_overrides[get_engine] = lambda: FakeEngine(probs(neutral=0.7))
    assert client.post(f"{J}/baseline", headers=alice, files=photo()).json()["warning"] is None


def test_kept_photo_is_served_to_its_owner_and_deleted_with_the_checkin(client, users, settings):
    alice, bob = users
    c = client.post(f"{J}/checkins", headers=alice, files=photo(), data={"keep_image": "true"}).json()
    assert c["has_image"] is True
    img = client.get(f"{J}/checkins/{c['id']}/image", headers=alice)
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg" and img.content[:2] == b"\xff\xd8"
    assert "no-store" in img.headers["cache-control"]
    assert client.get(f"{J}/checkins/{c['id']}/image", headers=bob).status_code == 404
    assert len(list((settings.data_dir / "journal").rglob("*.jpg"))) == 1
    assert client.delete(f"{J}/checkins/{c['id']}", headers=alice).status_code == 204
    assert list((settings.data_dir / "journal").rglob("*.jpg")) == []


def test_camera_frames_make_one_checkin(client, users):
    alice, _ = users
    frames = [("frames", (f"f{i}.jpg", jpeg(0 if i == 0 else 128), "image/jpeg")) for i in range(5)]
    c = client.post(f"{J}/checkins", headers=alice, files=frames).json()
    assert c["source"] == "camera" and c["frames"] == 4 and c["emotion"] == "happy"  # the blank frame had no face
    assert c["confidence"] == pytest.approx(0.6)


def test_mood_correction_list_and_delete(client, users):
    alice, _ = users
    r = client.post(f"{J}/checkins", headers=alice, json={"mood": "sad", "note": "long day", "tags": ["work"]})
    assert r.status_code == 201 and r.json()["source"] == "manual" and r.json()["confidence"] is None
    cid = r.json()["id"]
    fixed = client.patch(f"{J}/checkins/{cid}", headers=alice, json={"corrected": "neutral"}).json()
    assert (fixed["emotion"], fixed["corrected"], fixed["final_emotion"], fixed["note"]) == (
        "sad",
        "neutral",
        "neutral",
        "long day",
    )
    assert client.patch(f"{J}/checkins/{cid}", headers=alice, json={"tags": ["sleep"]}).json()["corrected"] == "neutral"
    assert client.patch(f"{J}/checkins/{cid}", headers=alice, json={"corrected": "meh"}).status_code == 422
    assert [c["id"] for c in client.get(f"{J}/checkins", headers=alice).json()] == [cid]
    assert client.delete(f"{J}/checkins/{cid}", headers=alice).status_code == 204
    assert client.get(f"{J}/checkins/{cid}", headers=alice).status_code == 404


@pytest.mark.parametrize(
    "kwargs, status, needle",
    [
        ({"json": {"mood": "elated"}}, 422, "mood"),
        ({"json": {"mood": "happy", "tags": ["no/slash"]}}, 422, "tag"),
        ({"files": photo(jpeg(0))}, 422, "no face found"),
        ({"files": photo(b"not a jpeg")}, 400, "not an image"),
        ({"content": b"mood=happy", "headers": {"Content-Type": "text/plain"}}, 415, "JSON"),
        ({"files": [("frames", ("f.jpg", jpeg(), "image/jpeg"))] * 21}, 400, "at most 20"),
    ],
)
def test_bad_checkins_are_explained(client, users, kwargs, status, needle):
    alice, _ = users
    headers = {**alice, **kwargs.pop("headers", {})}
    r = client.post(f"{J}/checkins", headers=headers, **kwargs)
    assert r.status_code == status and needle in r.json()["detail"], r.text


def test_baseline_changes_the_reading(client, users):
    alice, _ = users
    client.app.dependency_overrides[get_engine] = lambda: FakeEngine(probs(sad=0.5, neutral=0.3))
    before = client.post(f"{J}/checkins", headers=alice, files=photo()).json()
    assert before["emotion"] == "sad" and before["adjusted"] is None
    assert client.get(f"{J}/baseline", headers=alice).json() is None
    b = client.post(f"{J}/baseline", headers=alice, files=[("frames", ("f.jpg", jpeg(), "image/jpeg"))] * 3)
    assert b.status_code == 200 and b.json()["frames"] == 3
    after = client.post(f"{J}/checkins", headers=alice, files=photo()).json()
    # excess sad = 0.5 - 0.05 = 0.45 is removed and read as neutral: sad 0.05, neutral 0.75
    assert after["emotion"] == "neutral" and after["shares"] == before["shares"]
    assert after["adjusted"]["sad"] == pytest.approx(0.05, abs=1e-3)
    assert after["adjusted"]["neutral"] == pytest.approx(0.75, abs=1e-3)
    assert client.delete(f"{J}/baseline", headers=alice).status_code == 204
    assert client.post(f"{J}/checkins", headers=alice, files=photo()).json()["emotion"] == "sad"


def test_summary_export_and_account_deletion(client, users, settings):
    alice, bob = users
    for mood, day in (("happy", "2026-03-14"), ("sad", "2026-03-15"), ("happy", "2026-03-16")):
        client.post(
            f"{J}/checkins",
            headers=alice,
            json={"mood": mood, "at": f"{day}T09:00:00+01:00", "tags": ["exercise"] if mood == "happy" else []},
        )
    client.post(f"{J}/checkins", headers=alice, files=photo(), data={"keep_image": "1", "note": "secret words"})
    client.post(f"{J}/checkins", headers=bob, json={"mood": "angry", "note": "bob's own"})
    s = client.get(f"{J}/summary?days=3650&group=week", headers=alice).json()
    assert s["checkins"] == 4 and s["group"] == "week" and s["indexes"]["happiness"] > 0
    assert s["disclaimer"].startswith("emolens is not a medical device") and "suggestions" in s
    assert client.get(f"{J}/summary?days=0", headers=alice).status_code == 422
    doc = client.get(f"{J}/export?format=json", headers=alice)
    assert doc.status_code == 200 and "attachment" in doc.headers["content-disposition"]
    assert [c["final_emotion"] for c in doc.json()["checkins"]][:3] == ["happy", "sad", "happy"]
    assert "bob's own" not in doc.text
    rows = list(csv.DictReader(io.StringIO(client.get(f"{J}/export?format=csv", headers=alice).text)))
    assert len(rows) == 4 and rows[-1]["note"] == "secret words" and rows[-1]["has_image"] == "1"
    assert client.delete(f"{J}/account", headers=alice).status_code == 204
    assert client.get("/api/v1/auth/me", headers=alice).status_code == 401  # its tokens went with it
    assert not (settings.data_dir / "journal").exists() or not any((settings.data_dir / "journal").rglob("*.jpg"))
    raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("emolens.db*"))
    assert b"secret words" not in raw
    assert [c["note"] for c in client.get(f"{J}/checkins", headers=bob).json()] == ["bob's own"]


def _routes(cid: int):
    return [
        ("get", f"{J}/checkins/{cid}", {}),
        ("patch", f"{J}/checkins/{cid}", {"json": {"corrected": "happy"}}),
        ("patch", f"{J}/checkins/{cid}", {"json": {"note": "mine now"}}),
        ("get", f"{J}/checkins/{cid}/image", {}),
        ("delete", f"{J}/checkins/{cid}", {}),
    ]


def test_another_users_checkin_reads_exactly_like_a_missing_one(client, users):
    alice, bob = users
    theirs = client.post(f"{J}/checkins", headers=bob, files=photo(), data={"keep_image": "true", "note": "bob"}).json()
    for (method, path, kw), (_, missing_path, _) in zip(_routes(theirs["id"]), _routes(987654)):
        a = getattr(client, method)(path, headers=alice, **kw)
        b = getattr(client, method)(missing_path, headers=alice, **kw)
        assert a.status_code == b.status_code == 404, (method, path)
        assert a.json()["detail"].replace(str(theirs["id"]), "N") == b.json()["detail"].replace("987654", "N")
    for path in (
        f"{J}/checkins",
        f"{J}/summary?days=3650",
        f"{J}/export?format=json",
        f"{J}/export?format=csv",
        f"{J}/baseline",
    ):
        assert "bob" not in client.get(path, headers=alice).text.replace('"username":"alice"', "")
    client.delete(f"{J}/account", headers=alice)
    after = client.get(f"{J}/checkins/{theirs['id']}", headers=bob).json()
    assert after == theirs  # untouched by every attempt, and by alice deleting her account
    assert client.get(f"{J}/checkins/{theirs['id']}/image", headers=bob).status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/checkins"),
        ("post", "/checkins"),
        ("get", "/checkins/1"),
        ("patch", "/checkins/1"),
        ("delete", "/checkins/1"),
        ("get", "/summary"),
        ("get", "/export"),
        ("post", "/baseline"),
        ("get", "/baseline"),
        ("delete", "/account"),
    ],
)
def test_every_journal_route_needs_sign_in(client, method, path):
    assert getattr(client, method)(J + path).status_code == 401


def browser_session(client) -> str:
    r = client.get("/register")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    client.post(
        "/register",
        data={
            "username": "carol",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "csrf_token": token,
            "next": "/journal",
        },
    )
    page = client.get("/journal")
    assert page.status_code == 200
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_csrf_rejects_a_forged_post_from_a_signed_in_browser(client):
    csrf = browser_session(client)
    forged = client.post(f"{J}/checkins", json={"mood": "happy"})  # the cookie rides along, the token does not
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    forged_form = client.post(f"{J}/checkins", data={"mood": "happy", "csrf_token": "guessed"})
    assert forged_form.status_code == 403
    assert client.delete(f"{J}/account").status_code == 403
    assert client.get(f"{J}/checkins").json() == []  # nothing was stored, nothing deleted
    ok = client.post(f"{J}/checkins", json={"mood": "happy"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    ok_form = client.post(f"{J}/checkins", data={"mood": "sad", "csrf_token": csrf})
    assert ok_form.status_code == 201 and ok_form.json()["emotion"] == "sad"


def test_journal_page(client):
    r = client.get("/journal", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/journal"
    browser_session(client)
    html = client.get("/journal").text
    assert 'aria-current="page">Journal' in html and "/vendor/plotly.min.js" in html
    assert "What is stored:" in html and "Nothing is stored" not in html  # the journal's own privacy notice
    assert not re.search(r'(src|href)="https?://', html)  # every asset is local
    for asset in re.findall(r'(?:src|href)="(/static/[^"?]+)', html):
        assert client.get(asset).status_code == 200, asset

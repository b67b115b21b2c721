"""The feedback API: corrections change the personal adaptation's status, it turns off and resets; contributed crops
are listed, served as 48x48 gray PNG to their owner, exported and withdrawn; readings carry the model's sha256."""

from __future__ import annotations

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
    """Reads every picture as one face with the given probabilities, 'by' the model with the given sha256."""

    labels, detector = EMOTIONS, "fake"

    def __init__(self, p, sha256: str = "a" * 64):
        self.sha256 = sha256
        top = max(p, key=p.get)
        quality = Quality(False, False, False, 100.0, 120.0)
        face = Face((10, 10, 80, 80), 0.99, None, p, top, p[top], False, quality)

        class Analyzer:
            def analyze(self, image):
                return [face]

            def model_crop(self, image, face):
                x1, y1, x2, y2 = (int(v) for v in face.box)
                return cv2.resize(cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), (48, 48))

        self.analyzer = Analyzer()

    def model_ref(self):
        return {"name": "fake", "sha256": self.sha256}


def jpeg(seed: int = 0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", noise)[1].tobytes()


def check_in(client, headers, seed: int = 0, **fields) -> dict:
    files = {"image": ("me.jpg", jpeg(seed), "image/jpeg")}
    r = client.post(f"{J}/checkins", headers=headers, files=files, data=fields)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def users(client):
    client.app.dependency_overrides[get_engine] = lambda: FakeEngine(probs(happy=0.5, neutral=0.3))
    return sign_up(client, "alice"), sign_up(client, "bob")


def test_corrections_change_the_status_then_off_and_reset(client, users):
    alice, bob = users
    status = client.get(f"{J}/adaptation", headers=alice).json()
    assert status == {
        "enabled": True,
        "active": False,
        "corrections": 0,
        "evaluation": None,
        "calibration": None,
        "fitted_at": None,
        "reset_at": None,
    }
    ids = [check_in(client, alice, i)["id"] for i in range(6)]
    for n, i in enumerate(ids, start=1):
        r = client.patch(f"{J}/checkins/{i}", headers=alice, json={"corrected": "sad"})
        assert r.status_code == 200 and r.json()["final_emotion"] == "sad"
        assert client.get(f"{J}/adaptation", headers=alice).json()["corrections"] == n
    status = client.get(f"{J}/adaptation", headers=alice).json()
    assert status["active"] and status["evaluation"]["n"] == 6 and status["calibration"]["bias"]["sad"] > 0
    adapted = check_in(client, alice, 10)
    assert adapted["personal"]["sad"] > adapted["shares"]["sad"]  # her corrections pull later readings
    assert check_in(client, bob, 11)["personal"] is None  # bob's readings are his model's own

    r = client.put(f"{J}/adaptation", headers=alice, json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["corrections"] == 6
    assert check_in(client, alice, 12)["personal"] is None
    assert client.put(f"{J}/adaptation", headers=alice, json={"enabled": True}).json()["active"]
    r = client.delete(f"{J}/adaptation", headers=alice)
    assert r.status_code == 200 and r.json()["corrections"] == 0 and r.json()["reset_at"]
    assert check_in(client, alice, 13)["personal"] is None
    assert client.get(f"{J}/adaptation", headers=bob).json()["corrections"] == 0


@pytest.mark.parametrize("body", [{"enabled": "maybe"}, {}, {"enabled": True, "bias": 3}])
def test_bad_switches_are_422_not_500(client, users, body):
    alice, _ = users
    r = client.put(f"{J}/adaptation", headers=alice, json=body)
    assert r.status_code == 422 and "detail" in r.json()


def test_contributed_crops_listed_served_exported_withdrawn(client, users):
    alice, bob = users
    plain = check_in(client, alice, 1)
    given = check_in(client, alice, 2, contribute="true")
    assert not plain["contributed"] and given["contributed"] and not given["has_image"]
    listed = client.get(f"{J}/contributions", headers=alice).json()
    assert [c["checkin_id"] for c in listed] == [given["id"]] and listed[0]["label"] is None
    cid = listed[0]["id"]
    png = client.get(f"{J}/contributions/{cid}/crop", headers=alice)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert "no-store" in png.headers["cache-control"]
    img = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img.shape == (48, 48) and img.dtype == np.uint8  # gray, the model's input: never the photo
    assert client.get(f"{J}/contributions/{cid}/crop", headers=bob).status_code == 404
    assert client.delete(f"{J}/contributions/{cid}", headers=bob).status_code == 404
    client.patch(f"{J}/checkins/{given['id']}", headers=alice, json={"corrected": "sad"})
    doc = client.get(f"{J}/export?format=json", headers=alice).json()
    assert [c["label"] for c in doc["contributions"]] == ["sad"] and doc["contributions"][0]["crop_png_base64"]
    assert doc["adaptation"]["corrections"] == 1
    assert client.delete(f"{J}/contributions/{cid}", headers=alice).status_code == 204
    assert client.get(f"{J}/contributions", headers=alice).json() == []
    assert client.get(f"{J}/checkins/{given['id']}", headers=alice).json()["contributed"] is False
    check_in(client, alice, 3, contribute="true")
    check_in(client, alice, 4, contribute="true")
    assert client.delete(f"{J}/contributions", headers=alice).json() == {"deleted": 2}
    assert client.get(f"{J}/contributions/999/crop", headers=alice).status_code == 404


def test_readings_record_the_model_and_the_summary_marks_the_change(client, users):
    alice, _ = users
    assert check_in(client, alice, 1)["model_sha256"] == "a" * 64
    client.app.dependency_overrides[get_engine] = lambda: FakeEngine(probs(happy=0.5), sha256="b" * 64)
    assert check_in(client, alice, 2)["model_sha256"] == "b" * 64
    mood = client.post(f"{J}/checkins", headers=alice, json={"mood": "sad"}).json()
    assert mood["model_sha256"] is None  # a picked mood was read by no model
    (change,) = client.get(f"{J}/summary?days=7&group=day", headers=alice).json()["model_changes"]
    assert change["sha256"] == "b" * 64 and change["previous"] == "a" * 64 and change["bucket"] == change["day"]

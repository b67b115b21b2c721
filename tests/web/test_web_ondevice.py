"""'On this device' on the server's side: what the browser downloads, the numbers it may send instead of frames
(journal check-ins and calibration, the counter camera), and EMOLENS_CAMERA_ANALYSIS=device refusing frames."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from fastapi.testclient import TestClient

from emolens import __version__
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.score import ScoreParams
from emolens.apps.satisfaction.video import Scoring
from emolens.core.labels import EMOTIONS
from emolens.inference.detectors.centerface import MODEL_SHA256
from emolens.web import Settings
from emolens.web.routers.satisfaction.api import get_scoring

from helpers import sign_up

NEW = {"location": "Main St", "agent": "ana"}


def shares(**given: float) -> dict[str, float]:
    rest = (1.0 - sum(given.values())) / (len(EMOTIONS) - len(given))
    return {e: given.get(e, rest) for e in EMOTIONS}


def device_checkin(**changes) -> dict:
    body = {"source": "device", "shares": shares(happy=0.7), "confidence": 0.66, "frames": 7, "total_frames": 8}
    return {**body, "note": "walk", "tags": ["outdoors"], **changes}


def test_the_browser_gets_the_card_and_both_models(client, tiny_model):
    cfg = client.get("/api/v1/ondevice").json()
    card = cfg["card"]
    assert (card["labels"], card["input_size"], card["crop_margin"]) == (list(EMOTIONS), 48, 0.1)
    assert cfg["detector"] == {"name": "centerface", "threshold": 0.5, "min_face": 20, "max_side": 1024}
    assert cfg["stream"]["alpha"] == Settings().live_alpha and cfg["forced"] is False
    model = client.get(cfg["files"]["model"]["url"])
    assert model.content == (tiny_model / "model.onnx").read_bytes() and model.headers["etag"]
    assert hashlib.sha256(model.content).hexdigest().startswith(cfg["files"]["model"]["url"].split("=")[1])
    detector = client.get(cfg["files"]["detector"]["url"])
    assert hashlib.sha256(detector.content).hexdigest() == MODEL_SHA256
    sizes = [len(model.content), len(detector.content)]
    for f in cfg["files"]["runtime"]:
        r = client.get(f["url"])
        assert r.status_code == 200 and len(r.content) == f["bytes"]
        sizes.append(len(r.content))
    assert cfg["total_bytes"] == sum(sizes)
    wasm = client.get(cfg["files"]["runtime"][2]["url"])
    assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"


def test_the_browser_gets_the_served_detector(make_client):
    """A server on LiteFace sends LiteFace (same graph format as CenterFace, so detect.js reads it)."""
    from emolens.inference.detectors.liteface import MODEL_SHA256 as LITE_SHA256

    client = make_client(detector="liteface")
    cfg = client.get("/api/v1/ondevice").json()
    assert cfg["detector"]["name"] == "liteface"
    detector = client.get(cfg["files"]["detector"]["url"])
    assert hashlib.sha256(detector.content).hexdigest() == LITE_SHA256 != MODEL_SHA256
    assert len(detector.content) == cfg["files"]["detector"]["bytes"]


def test_device_checkin_stores_only_the_shares_as_source_device(client):
    me = sign_up(client, "robin")
    r = client.post("/api/v1/journal/checkins", json=device_checkin(), headers=me)
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["source"], c["emotion"], c["frames"], c["confidence"]) == ("device", "happy", 7, 0.66)
    assert c["shares"]["happy"] == pytest.approx(0.7) and c["tags"] == ["outdoors"] and not c["has_image"]
    again = client.post("/api/v1/journal/checkins", json=device_checkin(most_faces=3), headers=me).json()
    assert again["notice"] == "up to 3 faces in a frame, used the largest in each"
    # calibrated on the device too: later device check-ins are read relative to the resting face
    rest = {"source": "device", "shares": shares(neutral=0.4, happy=0.4), "confidence": 0.4, "frames": 10}
    b = client.post("/api/v1/journal/baseline", json=rest, headers=me)
    assert b.status_code == 200 and b.json()["frames"] == 10 and b.json()["warning"] is None
    same = client.post("/api/v1/journal/checkins", json=device_checkin(shares=rest["shares"]), headers=me).json()
    assert same["adjusted"] is not None and same["final_emotion"] == "neutral"


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"shares": shares(happy=0.7) | {"joy": 0.1}}, "unknown emotions in shares: joy"),
        ({"shares": {"happy": 0.5}}, "shares must sum to 1"),
        ({"shares": {"happy": 1.5, "sad": -0.5}}, "between 0 and 1"),
        ({"frames": 9, "total_frames": 8}, "at most total_frames"),
        ({"frames": 0}, "frames"),
        ({"confidence": 2}, "confidence"),
        ({"image": "data:..."}, "image"),  # no other fields: a frame cannot ride along
    ],
)
def test_device_numbers_that_are_no_reading_are_refused(client, change, needle):
    me = sign_up(client, "robin")
    r = client.post("/api/v1/journal/checkins", json=device_checkin(**change), headers=me)
    assert r.status_code == 422 and needle in r.json()["detail"], r.text
    assert client.get("/api/v1/journal/checkins", headers=me).json() == []


def test_counter_session_on_the_device_is_scored_from_numbers(client):
    client.app.dependency_overrides[get_scoring] = lambda: Scoring(
        CustomerRule(min_seconds=0.1), ScoreParams(min_usable_s=0.1)
    )
    shop = sign_up(client, "shop")
    sid = client.post("/api/v1/sessions", json=NEW, headers=shop).json()["id"]
    face = {
        "box": {"x": 200, "y": 100, "w": 160, "h": 180},
        "score": 0.98,
        "emotion": "happy",
        "confidence": 0.8,
        "uncertain": False,
        "probabilities": shares(happy=0.8),
        "quality": {"tiny": False, "blurry": False, "dark": False, "sharpness": 120.0, "brightness": 110.0},
        "landmarks": None,
        "track_id": 1,
    }
    with client.websocket_connect(f"/api/v1/sessions/{sid}/live", headers=shop) as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text('{"type": "faces", "width": 640, "height": 480, "faces": "none"}')
        assert "faces must be a list" in ws.receive_json()["message"]
        bad = {**face, "probabilities": {"happy": 1.0}}
        ws.send_json({"type": "faces", "width": 640, "height": 480, "faces": [bad]})
        assert "exactly the model's labels" in ws.receive_json()["message"]
        for _ in range(10):
            ws.send_json({"type": "faces", "width": 640, "height": 480, "faces": [face]})
            time.sleep(0.05)
        ws.send_text("stop")
        done = ws.receive_json()
    assert done["type"] == "done" and done["session"]["frames"] == 10 and done["session"]["score"] is not None
    s = client.get(f"/api/v1/sessions/{sid}", headers=shop).json()
    assert (s["status"], s["frames"]) == ("done", 10) and [t["role"] for t in s["customer"]["tracks"]] == ["customer"]


@pytest.fixture
def device_only(make_client) -> TestClient:
    return make_client(camera_analysis="device")


def test_device_only_server_refuses_every_camera_frame(device_only, astronaut_jpeg):
    c = device_only
    assert c.get("/api/v1/ondevice").json()["forced"] is True
    with c.websocket_connect("/api/v1/live") as ws:
        msg = ws.receive_json()
        assert msg["fatal"] and "EMOLENS_CAMERA_ANALYSIS=device" in msg["message"]
    me = sign_up(c, "robin")
    files = [("frames", (f"f{i}.jpg", astronaut_jpeg, "image/jpeg")) for i in range(3)]
    for path in ("/api/v1/journal/checkins", "/api/v1/journal/baseline"):
        r = c.post(path, files=files, headers=me)
        assert r.status_code == 403 and "on this device" in r.json()["detail"], r.text
    assert c.post("/api/v1/journal/checkins", json=device_checkin(), headers=me).status_code == 201
    assert c.post("/api/v1/journal/checkins", json={"mood": "sad"}, headers=me).status_code == 201
    sid = c.post("/api/v1/sessions", json=NEW, headers=me).json()["id"]
    with c.websocket_connect(f"/api/v1/sessions/{sid}/live", headers=me) as ws:
        assert ws.receive_json()["device_only"] is True
        ws.send_bytes(astronaut_jpeg)
        assert "never the frame" in ws.receive_json()["message"]
        ws.send_text("stop")
        assert ws.receive_json()["session"]["frames"] == 0
    page = c.get("/live").text
    assert 'value="server" disabled' in page and "this server accepts no frames" in page


def test_camera_analysis_setting_is_checked():
    with pytest.raises(ValueError, match="camera_analysis must be one of any, device"):
        Settings(camera_analysis="phone")
    assert Settings.from_env({"EMOLENS_CAMERA_ANALYSIS": "device"}).device_only and not Settings().device_only


def test_installable_app_manifest_and_service_worker(client):
    m = client.get("/manifest.webmanifest")
    assert m.headers["content-type"] == "application/manifest+json"
    for icon in m.json()["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript") and sw.headers["cache-control"] == "no-cache"
    head = sw.text.split("\n", 2)
    version = json.loads(head[0].removeprefix("const VERSION = ").rstrip(";"))
    precache = json.loads(head[1].removeprefix("const PRECACHE = ").rstrip(";"))
    assert "/static/js/ondevice/engine.js" in precache and "/static/vendor/onnxruntime-web/ort.wasm.min.js" in precache
    assert not [u for u in precache if u.endswith(".wasm")], "the 14 MB runtime is cached on first use, not at install"
    assert all(client.get(u).status_code == 200 for u in precache)
    page = client.get("/live").text
    assert 'rel="manifest"' in page and "js/pwa.js" in page
    assert version.startswith(f"{__version__}-"), "the cache is named after the release and the files"

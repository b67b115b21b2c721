"""REST API contracts: /api/v1/analyze, health, model, docs, pages, and every error as JSON."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from emolens.core.card import ModelCard
from emolens.core.labels import EMOTIONS
from emolens.core.results import Face, Quality
from emolens.web.deps import get_engine

from helpers import ASTRONAUT_FACE, astronaut_bgr, iou


def _post(client, data: bytes, name="photo.jpg", kind="image/jpeg", field="image"):
    return client.post("/api/v1/analyze", files={field: (name, data, kind)})


def _png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def test_analyze_finds_the_astronaut(client, astronaut_jpeg, tiny_model):
    r = _post(client, astronaut_jpeg)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (512, 512)
    card = ModelCard.load(tiny_model / "card.json")
    assert body["model"] == {"name": "tiny", "sha256": card.onnx_sha256}
    (face,) = body["faces"]
    box = face["box"]
    assert set(box) == {"x", "y", "w", "h"} and iou((box["x"], box["y"], box["w"], box["h"]), ASTRONAUT_FACE) > 0.7
    assert len(face["landmarks"]) == 5 and all(len(p) == 2 for p in face["landmarks"])
    assert list(face["probabilities"]) == list(EMOTIONS)  # card order, all seven
    assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert face["emotion"] == max(face["probabilities"], key=face["probabilities"].get)
    assert face["confidence"] == face["probabilities"][face["emotion"]]
    assert isinstance(face["uncertain"], bool)
    assert set(face["quality"]) == {"tiny", "blurry", "dark", "sharpness", "brightness"}


def test_analyze_png_without_faces(client):
    r = _post(client, _png(np.full((120, 160, 3), 128, np.uint8)), "plain.png", "image/png")
    assert r.status_code == 200 and r.json()["faces"] == [] and r.json()["width"] == 160


def test_generic_content_type_with_image_suffix_is_accepted(client, astronaut_jpeg):
    assert _post(client, astronaut_jpeg, "photo.jpg", "application/octet-stream").status_code == 200


def test_dependency_override_swaps_the_engine(client):
    """Routes reach the engine only through get_engine: a fake one answers here."""
    face = Face(
        box=(1, 2, 30, 40),
        score=0.9,
        landmarks=None,
        probabilities={"happy": 0.35, "sad": 0.65},
        emotion="sad",
        confidence=0.65,
        uncertain=True,
        quality=Quality(tiny=True, blurry=False, dark=False, sharpness=50.0, brightness=100.0),
    )

    class FakeAnalyzer:
        def analyze(self, image):
            return [face]

    class FakeEngine:
        analyzer, labels, detector = FakeAnalyzer(), ("happy", "sad"), "fake"

        def model_ref(self):
            return {"name": "fake", "sha256": "0" * 64}

    client.app.dependency_overrides[get_engine] = FakeEngine
    try:
        body = _post(client, _png(np.zeros((50, 60, 3), np.uint8)), "x.png", "image/png").json()
    finally:
        client.app.dependency_overrides.clear()
    assert body["model"]["name"] == "fake"
    assert body["faces"][0]["box"] == {"x": 1, "y": 2, "w": 30, "h": 40} and body["faces"][0]["uncertain"] is True
    assert body["faces"][0]["landmarks"] is None


def test_api_and_cli_give_one_face_shape(client, astronaut_jpeg, tiny_model, tmp_path, capsys):
    """The REST API and `emolens analyze --json` describe a face with the same JSON: box {x,y,w,h}, landmarks."""
    import json

    from emolens.cli import main

    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(astronaut_jpeg)
    api_face = _post(client, astronaut_jpeg).json()["faces"][0]
    assert main(["analyze", str(photo), "--json", "--model", str(tiny_model)]) == 0
    cli_face = json.loads(capsys.readouterr().out)[0]["faces"][0]
    assert api_face.pop("track_id") is None
    assert api_face == cli_face


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"this is not an image", "not an image"),
        (b"", "empty"),
    ],
)
def test_undecodable_image_is_400(client, data, needle):
    r = _post(client, data)
    assert r.status_code == 400 and needle in r.json()["detail"]


def test_truncated_jpeg_is_400(client, astronaut_jpeg):
    r = _post(client, astronaut_jpeg[: len(astronaut_jpeg) // 2])
    assert r.status_code == 400 and "truncated" in r.json()["detail"]


def test_upload_over_size_limit_is_413(make_client, astronaut_jpeg):
    client = make_client(max_upload_mb=0.02)  # 20 kB; the photo is ~60 kB
    r = _post(client, astronaut_jpeg)
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_streamed_upload_without_length_is_cut_at_the_limit(make_client):
    """No Content-Length (chunked): the body is counted as it arrives and refused at the limit."""
    client = make_client(max_upload_mb=0.05)
    boundary = "emolensboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(40):
            yield b"\xff" * 8192  # 320 kB in all
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/api/v1/analyze", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_pixel_limit_is_413(make_client, astronaut_jpeg):
    client = make_client(max_pixels=100_000)  # the astronaut is 512 x 512 = 262k pixels
    r = _post(client, astronaut_jpeg)
    assert r.status_code == 413 and "megapixels" in r.json()["detail"]
    bmp = cv2.imencode(".bmp", astronaut_bgr())[1].tobytes()  # no header check: refused after decoding
    r = _post(client, bmp, "a.bmp", "image/bmp")
    assert r.status_code == 413 and "megapixels" in r.json()["detail"]


@pytest.mark.parametrize(
    "name, kind",
    [
        ("notes.txt", "text/plain"),
        ("clip.mp4", "video/mp4"),
        ("drawing.svg", "image/svg+xml"),
        ("blob", "application/octet-stream"),
    ],
)
def test_unsupported_type_is_415(client, name, kind):
    r = _post(client, b"whatever", name, kind)
    assert r.status_code == 415 and "unsupported" in r.json()["detail"]


def test_missing_field_is_422_with_a_message(client, astronaut_jpeg):
    r = _post(client, astronaut_jpeg, field="photo")
    assert r.status_code == 422
    assert r.json()["detail"] == "missing field 'image' (send the file as multipart/form-data)"
    assert client.post("/api/v1/analyze").status_code == 422


def test_health_and_model_card(client, tiny_model):
    h = client.get("/api/v1/health").json()
    assert h["status"] == "ok" and h["model"]["name"] == "tiny" and h["detector"] == "centerface"
    m = client.get("/api/v1/model").json()
    assert m["labels"] == list(EMOTIONS) and m["sha256"] == ModelCard.load(tiny_model / "card.json").onnx_sha256
    assert isinstance(m["metrics"], dict) and m["input_size"] == 48


def test_openapi_and_local_docs(client):
    spec = client.get("/openapi.json").json()
    assert {
        "/api/v1/analyze",
        "/api/v1/analyze/video",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/timeline.csv",
        "/api/v1/health",
        "/api/v1/model",
    } <= set(spec["paths"])
    docs = client.get("/docs").text
    assert "/vendor/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    for asset in re.findall(r"(/vendor/[\w.-]+)", docs):
        assert client.get(asset).status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN


def test_plotly_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript") and len(r.content) > 1e6
    assert client.get("/vendor/nothing.js").status_code == 404


@pytest.mark.parametrize(
    "path, marker", [("/", 'id="photo-input"'), ("/live", 'id="start"'), ("/video", 'id="video-input"')]
)
def test_pages_render_offline_with_nav_and_privacy(client, path, marker):
    html = client.get(path).text
    assert marker in html and 'aria-current="page"' in html
    assert "Nothing is stored" in html and "Not a diagnosis" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "pages must not load anything from other sites"
    for asset in re.findall(r"""src="([^"]+)""", html) + re.findall(r"""href="(/static/[^"]+)""", html):
        assert client.get(asset).status_code == 200, asset


def test_unknown_route_is_json_404(client):
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and "detail" in r.json()


def test_favicon_is_served_and_linked(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.content[:4] == b"\x00\x00\x01\x00" and r.content[4] >= 1  # an ICO with at least one image
    page = client.get("/").text
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    svg = client.get("/static/img/favicon.svg")
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<svg")

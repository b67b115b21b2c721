"""One intake behind every way media arrives: the photo API, the live WebSocket, journal uploads, video jobs.

Also the jobs' ownership, their CSV links and file names, and 0.001 fps videos read as the CLI reads them.
"""

from __future__ import annotations

import json
import threading
import time

import cv2
import pytest

from emolens.inference.decode_gate import DecodeGate
from emolens.web.services.photo import PhotoIntake

from helpers import astronaut_bgr, sign_up
from hostile_images import bmp, gif, png, webp
from hostile_videos import slow_avi, video_cases

BOMBS = {
    "gif.jpg": gif(65_535, 65_535),
    "bmp.jpg": bmp(60_000, 60_000),
    "webp.jpg": webp("VP8L", 16_384, 16_384),
    "png16.jpg": png(16_384, 16_384, 16, 6),
}


def wait(client, url: str, headers=None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{url} did not finish")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return {c.name: c for c in video_cases(tmp_path_factory.mktemp("videos"))}


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_named_jpg_are_refused_naming_the_servers_limit(client, name):
    started = time.process_time()  # CPU seconds of client and server together (a busy machine adds none)
    r = client.post("/api/v1/analyze", files={"image": (name, BOMBS[name], "image/jpeg")})
    assert time.process_time() - started < 1.0
    assert r.status_code == 413 and "over the 40 MP limit (EMOLENS_MAX_PIXELS)" in r.json()["detail"]
    assert "100 MP" not in r.json()["detail"]


def test_a_lower_pixel_limit_is_the_one_named(make_client):
    client = make_client(max_pixels=2_000_000)
    r = client.post("/api/v1/analyze", files={"image": ("b.gif", gif(2000, 2000), "image/gif")})
    assert r.status_code == 413 and "over the 2 MP limit (EMOLENS_MAX_PIXELS)" in r.json()["detail"]


def test_refused_format_is_415_and_gif_is_accepted(client):
    svg = b"<svg xmlns='http://www.w3.org/2000/svg' width='9e9' height='9e9'/>"
    r = client.post("/api/v1/analyze", files={"image": ("a.jpg", svg, "image/jpeg")})
    assert r.status_code == 415 and "SVG" in r.json()["detail"]
    still = cv2.imencode(".gif", astronaut_bgr())[1].tobytes()
    r = client.post("/api/v1/analyze", files={"image": ("a.gif", still, "image/gif")})
    assert r.status_code == 200 and r.json()["width"] == 512


def test_the_live_socket_refuses_a_bomb_frame_and_goes_on(client, astronaut_jpeg):
    with client.websocket_connect("/api/v1/live") as ws:
        ws.receive_json()
        ws.send_bytes(BOMBS["gif.jpg"])
        error = ws.receive_json()
        assert error["type"] == "error" and "40 MP limit" in error["message"]
        ws.send_bytes(astronaut_jpeg)
        assert ws.receive_json()["type"] == "result"


def test_journal_uploads_go_through_the_same_intake(client):
    alice = sign_up(client, "alice")
    r = client.post(
        "/api/v1/journal/checkins", headers=alice, files={"image": ("me.jpg", BOMBS["bmp.jpg"], "image/jpeg")}
    )
    assert r.status_code == 413 and "EMOLENS_MAX_PIXELS" in r.json()["detail"]
    r = client.post(
        "/api/v1/journal/baseline", headers=alice, files={"frames": ("f.jpg", BOMBS["webp.jpg"], "image/jpeg")}
    )
    assert r.status_code == 413
    assert client.get("/api/v1/journal/checkins", headers=alice).json() == []


def test_busy_decoders_answer_503_with_retry_after(client, astronaut_jpeg):
    intake: PhotoIntake = client.app.state.intake
    client.app.state.intake = PhotoIntake(intake.limits, DecodeGate(1, intake.limits.max_decode_bytes, wait_s=0.05))
    held, release = threading.Event(), threading.Event()

    def hold():
        with client.app.state.intake.gate.reserve(1):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        held.wait(5)
        r = client.post("/api/v1/analyze", files={"image": ("a.jpg", astronaut_jpeg, "image/jpeg")})
    finally:
        release.set()
        thread.join()
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and "try again" in r.json()["detail"]
    assert client.post("/api/v1/analyze", files={"image": ("a.jpg", astronaut_jpeg, "image/jpeg")}).status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "ok.avi",
        "slow-0.001fps.avi",
        "zero-frames.avi",
        "mjpeg-said-h264.avi",
        "huge-frames.avi",
        "hls.mp4",
        "concat.mp4",
        "noise.mp4",
        "photo.mp4",
    ],
)
def test_video_uploads_get_the_right_answer(client, videos, name):
    case = videos[name]
    r = client.post("/api/v1/analyze/video", files={"video": (name, case.data, case.content_type)})
    assert r.status_code == case.status, r.text
    if case.status == 202:
        job = wait(client, r.json()["url"])
        assert job["status"] == "done" and job["frames_done"] == case.frames
    elif case.status == 413:
        assert "EMOLENS_MAX_VIDEO_PIXELS" in r.json()["detail"]


def test_a_0001_fps_video_is_analysed_like_the_cli_does(client, tmp_path, tiny_model, capsys):
    from emolens.cli import main

    data = slow_avi(tmp_path / "raw.avi")
    job = wait(
        client,
        client.post("/api/v1/analyze/video", files={"video": ("slow.avi", data, "video/x-msvideo")}).json()["url"],
    )
    (tmp_path / "slow.avi").write_bytes(data)
    assert main(["video", str(tmp_path / "slow.avi"), "--model", str(tiny_model), "--json", "--every", "2"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert job["status"] == "done" and job["frames_done"] == job["frame_count"] == cli["frames"] == 3
    assert job["summary"]["frames"] == cli["frames"] and job["summary"]["duration"] == cli["duration"]
    assert len(job["timeline"]["t"]) == 3


def test_job_ids_are_unguessable_and_a_sessions_job_is_its_owners_only(client, videos):
    ids = {
        client.post(
            "/api/v1/analyze/video", files={"video": ("a.avi", videos["ok.avi"].data, "video/x-msvideo")}
        ).json()["id"]
        for _ in range(3)
    }
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)  # 192 random bits, URL-safe
    shop, rival = sign_up(client, "shop"), sign_up(client, "rival")
    sid = client.post("/api/v1/sessions", json={"location": "desk", "agent": "ann"}, headers=shop).json()["id"]
    url = client.post(
        f"/api/v1/sessions/{sid}/video",
        headers=shop,
        files={"video": ("c.avi", videos["ok.avi"].data, "video/x-msvideo")},
    ).json()["url"]
    job = wait(client, url, headers=shop)
    assert job["status"] == "done" and job["summary"]["session"] == sid
    for headers in (None, rival):
        for path in (url, url + "/timeline.csv"):
            r = client.get(path, headers=headers)
            assert r.status_code == 404 and "no job" in r.json()["detail"], (path, headers)


def test_csv_url_is_offered_only_when_the_csv_exists(client, videos):
    anonymous = wait(
        client,
        client.post(
            "/api/v1/analyze/video", files={"video": ("a.avi", videos["ok.avi"].data, "video/x-msvideo")}
        ).json()["url"],
    )
    assert anonymous["status"] == "done" and client.get(anonymous["csv_url"]).status_code == 200
    shop = sign_up(client, "shop")
    sid = client.post("/api/v1/sessions", json={"location": "desk", "agent": "ann"}, headers=shop).json()["id"]
    created = client.post(
        f"/api/v1/sessions/{sid}/video",
        headers=shop,
        files={"video": ("c.avi", videos["ok.avi"].data, "video/x-msvideo")},
    ).json()
    job = wait(client, created["url"], headers=shop)
    assert job["status"] == "done" and job["csv_url"] is None
    r = client.get(created["url"] + "/timeline.csv", headers=shop)
    assert r.status_code == 404 and "/api/v1/sessions/" in r.json()["detail"]  # never "409 ... while done"


@pytest.mark.parametrize(
    "name",
    ['../../etc/x".avi', "..\\..\\boot.ini.avi", "a\r\nSet-Cookie: x=1.avi", "/abs/path/clip.avi", "....avi", "é☃.avi"],
)
def test_uploaded_names_are_cleaned_for_headers_and_json(client, videos, name):
    created = client.post("/api/v1/analyze/video", files={"video": (name, videos["ok.avi"].data, "video/x-msvideo")})
    assert created.status_code == 202
    job = wait(client, created.json()["url"])
    filename = job["filename"]
    assert "/" not in filename and "\\" not in filename and ".." not in filename and '"' not in filename
    assert "\r" not in filename and "\n" not in filename and filename == job["video"]["source"]
    disposition = client.get(job["csv_url"]).headers["content-disposition"]
    assert ".." not in disposition and "/" not in disposition and "\\" not in disposition
    assert disposition.startswith("attachment;") and disposition.rstrip('"').endswith("-timeline.csv")

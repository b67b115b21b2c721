"""The pages in a real browser: Debian's Chromium driven by Playwright against a real `emolens serve`.

Photo upload and drag-and-drop, the live camera fed a Y4M clip of real photos
(Chromium's fake camera), and a video with its plotly timeline. Screenshots go
to a temporary folder printed at the end; EMOLENS_UPDATE_SCREENSHOTS=1 also
refreshes the small copies in docs/screenshots/ that the README shows.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from emolens.core.labels import EMOTIONS
from helpers import astronaut_bgr, moving_faces_video

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMOTION = "|".join(EMOTIONS)


def ensure_chromium() -> str:
    """/usr/bin/chromium, installing Debian's package when missing (we run as root in CI)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Chromium is not installed and apt-get cannot install it here (needs root on Debian)")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if proc.returncode != 0:
            pytest.skip(f"could not install Chromium ({' '.join(cmd)}): {proc.stderr.strip()[-300:]}")
    return CHROMIUM


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """BGR frames -> YUV4MPEG2 4:2:0, the format Chromium's fake camera reads (OpenCV cannot write it)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            fh.write(b"FRAME\n")
            fh.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())  # Y plane, then U, then V
    return path


def camera_clip(path: Path, n: int = 30) -> Path:
    """Two real faces (the astronaut, and her mirror image smaller) drifting across a 640x480 room."""
    big = cv2.resize(astronaut_bgr(), (240, 240), interpolation=cv2.INTER_AREA)
    small = cv2.resize(astronaut_bgr()[:, ::-1], (160, 160), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n):
        frame = np.full((480, 640, 3), (70, 80, 90), np.uint8)
        x = 20 + 4 * i
        frame[40:280, x:x + 240] = big
        frame[300:460, 440 - 3 * i:600 - 3 * i] = small
        frames.append(frame)
    return write_y4m(path, frames)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    """A real `emolens serve` (the CLI, uvicorn) on a free 127.0.0.1 port."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "EMOLENS_DATA_DIR": str(log.parent / "data")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "emolens.cli", "serve", "--model", str(tiny_model),
                                 "--host", "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def shots(screenshot_dir):
    """The screenshot folder; its path is printed in pytest's summary (see conftest.py)."""
    folder = screenshot_dir
    yield folder
    if os.environ.get("EMOLENS_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            save_small_png(png, DOCS_SHOTS / png.name)


def save_small_png(src: Path, dest: Path, width: int = 880) -> None:
    """Downscaled and, with Pillow, reduced to 256 colours: README-sized."""
    img = cv2.imread(str(src))
    scale = min(1.0, width / img.shape[1])
    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    try:
        from PIL import Image
    except ImportError:
        cv2.imwrite(str(dest), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        return
    rgb = Image.fromarray(img[:, :, ::-1])  # octree keeps the small coloured marks (legend, boxes)
    rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(dest, optimize=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [dev] extra)")
    exe = ensure_chromium()
    clip = camera_clip(tmp_path_factory.mktemp("camera") / "camera.y4m")
    args = FLAGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={clip}"]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page that records every request leaving 127.0.0.1 (there must be none)."""
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.outside = []
    pg.on("request", lambda r: pg.outside.append(r.url)
          if not r.url.startswith((server, "data:", "blob:", server.replace("http", "ws"))) else None)
    yield pg
    context.close()


def test_photo_upload_draws_boxes_and_bars(page, server, shots, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    page.goto(f"{server}/")
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("#faces .face")
    (title,) = page.locator("#faces .face h3").all_inner_texts()
    assert re.fullmatch(rf"Face 1: (uncertain \(maybe )?({EMOTION})(,| \() ?\d+%\)?", title), title
    assert page.locator("#faces .face .bars li").count() == len(EMOTIONS)
    assert "1 face found in astronaut.jpg" in page.inner_text("#status")
    # The box's left edge is painted in the label's colour (grey when uncertain).
    box = page.evaluate("""async () => {
        const form = new FormData();
        form.append('image', document.getElementById('photo-input').files[0]);
        const face = (await (await fetch('/api/v1/analyze', {method: 'POST', body: form})).json()).faces[0];
        const [x, y, w, h] = face.box;
        const px = document.getElementById('canvas').getContext('2d').getImageData(x, y + Math.round(h / 2), 1, 1).data;
        const hex = '#' + [px[0], px[1], px[2]].map(v => v.toString(16).padStart(2, '0')).join('');
        return {hex, want: face.uncertain ? '#5f6670' : window.Emolens.COLORS[face.emotion]};
    }""")
    assert box["hex"] == box["want"]
    page.screenshot(path=str(shots / "photo.png"), full_page=True)
    assert page.outside == []


def test_photo_drag_and_drop_and_no_face(page, server):
    page.goto(f"{server}/")
    png = cv2.imencode(".png", np.full((200, 300, 3), 200, np.uint8))[1].tobytes()
    transfer = page.evaluate_handle("""bytes => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'wall.png', {type: 'image/png'}));
        return dt;
    }""", list(png))
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("#faces .empty")
    assert "No face found" in page.inner_text("#faces") and "0 faces found in wall.png" in page.inner_text("#status")


def test_photo_error_is_shown(page, server, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    page.goto(f"{server}/")
    page.set_input_files("#photo-input", str(bad))
    page.wait_for_selector("#status.error")
    assert "broken.jpg" in page.inner_text("#status") and page.get_attribute("#status", "role") == "alert"


def test_live_camera_overlays_labels_and_fps(page, server, shots):
    page.goto(f"{server}/live")
    page.click("#start")
    page.wait_for_selector("#faces .face")
    page.wait_for_function("parseFloat(document.getElementById('fps').textContent) > 0")
    page.wait_for_timeout(1500)  # a few frames: tracks and smoothing settle
    titles = page.locator("#faces .face h3").all_inner_texts()
    assert titles and all(re.match(rf"Face \d+: (uncertain \(maybe )?({EMOTION})", t) for t in titles), titles
    painted = page.evaluate("""() => {
        const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
        return n;
    }""")
    assert painted > 500, "boxes and labels are drawn over the video"
    assert float(page.inner_text("#fps")) > 0 and page.inner_text("#ms") != "–"
    page.screenshot(path=str(shots / "live.png"), full_page=True)
    page.click("#stop")
    assert page.inner_text("#status") == "Camera off."
    assert page.outside == []


@pytest.mark.parametrize("error, needle", [("NotAllowedError", "denied"), ("NotFoundError", "No camera"), (None, "https://")])
def test_live_camera_problems_are_explained(page, server, error, needle):
    if error:
        page.add_init_script(f"navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('x', '{error}'));")
    else:
        page.add_init_script("Object.defineProperty(navigator, 'mediaDevices', {value: undefined});")
    page.goto(f"{server}/live")
    page.click("#start")
    page.wait_for_selector("#status.error")
    assert needle in page.inner_text("#status")


def test_video_upload_shows_timeline_summary_and_csv(page, server, shots, tmp_path):
    clip = moving_faces_video(tmp_path / "meeting.mp4", frames=36)
    page.goto(f"{server}/video")
    page.set_input_files("#video-input", str(clip))
    page.click("#video-form button")
    page.wait_for_selector("#chart .main-svg")
    page.wait_for_selector("#summary table")
    assert page.locator("#chart .legend .traces").count() == len(EMOTIONS) + 1  # + valence
    assert "Analysed 36 frames of meeting.mp4" in page.inner_text("#status")
    href = page.get_attribute("#csv", "href")
    assert href.endswith("/timeline.csv")
    csv_text = page.evaluate("async href => (await fetch(href)).text()", href)
    assert csv_text.startswith("frame,time,face_id")
    page.screenshot(path=str(shots / "video.png"), full_page=True)
    assert page.outside == []


def test_api_docs_render_offline(page, server, shots):
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock")
    text = page.inner_text("body")
    assert "/api/v1/analyze" in text and "/api/v1/jobs/{job_id}" in text
    page.screenshot(path=str(shots / "docs.png"))
    assert page.outside == []

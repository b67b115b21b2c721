"""The pages in a real browser: Debian's Chromium driven by Playwright against a real `emolens serve`.

Photo upload and drag-and-drop, the live camera fed a Y4M clip of real photos
(Chromium's fake camera), and a video with its plotly timeline. Screenshots go
to a temporary folder printed at the end. The server runs the tiny generated test
model, except with EMOLENS_UPDATE_SCREENSHOTS=1: then it runs the shipped `default`
model (real readings of the real photos) and the small copies in docs/screenshots/
that the README shows are refreshed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emolens.core.labels import EMOTIONS

from helpers import astronaut_bgr, crowded_group_photo, iou, moving_faces_video
from serving import wait_until_healthy

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMOTION = "|".join(EMOTIONS)


def ensure_chromium() -> str:
    """/usr/bin/chromium, installing Debian's package when missing (we run as root in CI)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Chromium is not installed and apt-get cannot install it here (needs root on Debian)")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        )
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
        frame[40:280, x : x + 240] = big
        frame[300:460, 440 - 3 * i : 600 - 3 * i] = small
        frames.append(frame)
    return write_y4m(path, frames)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_model(tiny_model) -> str:
    """The tiny test model; the shipped one when the screenshots in docs/ are being refreshed."""
    return "default" if os.environ.get("EMOLENS_UPDATE_SCREENSHOTS") == "1" else str(tiny_model)


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    """A real `emolens serve` (the CLI, uvicorn) on a free 127.0.0.1 port."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "EMOLENS_DATA_DIR": str(log.parent / "data")}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emolens.cli",
                "serve",
                "--model",
                served_model(tiny_model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, log)
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
    args = FLAGS + [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page that records every request leaving 127.0.0.1 (there must be none)."""
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(180_000)
    pg.outside, pg.missing = [], []
    pg.on(
        "request",
        lambda r: (
            pg.outside.append(r.url)
            if not r.url.startswith((server, "data:", "blob:", server.replace("http", "ws")))
            else None
        ),
    )
    pg.on("response", lambda r: pg.missing.append(r.url) if r.status == 404 else None)  # e.g. a favicon
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
        const {x, y, w, h} = face.box;
        const px = document.getElementById('canvas').getContext('2d').getImageData(x, y + Math.round(h / 2), 1, 1).data;
        const hex = '#' + [px[0], px[1], px[2]].map(v => v.toString(16).padStart(2, '0')).join('');
        return {hex, want: face.uncertain ? '#5f6670' : window.Emolens.COLORS[face.emotion]};
    }""")
    assert box["hex"] == box["want"]
    page.screenshot(path=str(shots / "photo.png"), full_page=True)
    assert page.outside == [] and page.missing == []


def _overlaps(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
    )


def test_group_photo_labels_never_overlap_and_faces_read_left_to_right(page, server, shots, tmp_path):
    img, truth = crowded_group_photo()
    photo = tmp_path / "group.png"
    cv2.imwrite(str(photo), img)
    page.goto(f"{server}/")
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("#faces .face >> nth=5")
    rects = json.loads(page.get_attribute("#canvas", "data-labels"))
    assert len(rects) == 6
    assert not any(_overlaps(a, b) for i, a in enumerate(rects) for b in rects[i + 1 :]), rects
    # each rectangle is where a label was painted: its corner pixel has the face's label colour
    painted = page.evaluate(
        """rects => {
        const ctx = document.getElementById('canvas').getContext('2d');
        return rects.map(r => { const d = ctx.getImageData(r.x + 1, r.y + 1, 1, 1).data;
            return '#' + [d[0], d[1], d[2]].map(v => v.toString(16).padStart(2, '0')).join(''); });
    }""",
        rects,
    )
    faces = page.evaluate("""async () => {
        const form = new FormData();
        form.append('image', document.getElementById('photo-input').files[0]);
        return (await (await fetch('/api/v1/analyze', {method: 'POST', body: form})).json()).faces;
    }""")
    want = page.evaluate("faces => faces.map(f => f.uncertain ? '#5f6670' : window.Emolens.COLORS[f.emotion])", faces)
    assert painted == want
    naive = [{"x": f["box"]["x"], "y": f["box"]["y"] - r["h"], "w": r["w"], "h": r["h"]} for f, r in zip(faces, rects)]
    assert any(_overlaps(a, b) for i, a in enumerate(naive) for b in naive[i + 1 :]), (
        "labels above each box would collide"
    )
    # numbered left to right, top to bottom: card N is the Nth true face, and its label starts with N
    boxes = [(f["box"]["x"], f["box"]["y"], f["box"]["w"], f["box"]["h"]) for f in faces]
    assert [max(range(6), key=lambda t: iou(b, truth[t])) for b in boxes] == list(range(6))
    titles = page.locator("#faces .face h3").all_inner_texts()
    assert [t.split(":")[0] for t in titles] == [f"Face {n}" for n in range(1, 7)]
    page.screenshot(path=str(shots / "photo-group.png"), full_page=True)
    assert page.outside == []


def test_hovering_a_card_highlights_its_box_and_pointing_at_a_box_its_card(page, server, tmp_path):
    img, _ = crowded_group_photo()
    photo = tmp_path / "group.png"
    cv2.imwrite(str(photo), img)
    page.goto(f"{server}/")
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("#faces .face >> nth=5")
    faces = page.evaluate("""async () => {
        const form = new FormData();
        form.append('image', document.getElementById('photo-input').files[0]);
        return (await (await fetch('/api/v1/analyze', {method: 'POST', body: form})).json()).faces;
    }""")

    def ring(i: int) -> str:  # the canvas pixel on the highlight ring left of face i's box, mid-height
        return page.evaluate(
            """([box]) => {
            const c = document.getElementById('canvas');
            const unit = Math.max(1, Math.round(Math.max(c.width, c.height) / 400));
            const d = c.getContext('2d')
              .getImageData(Math.round(box.x - 4 * unit), Math.round(box.y + box.h / 2), 1, 1).data;
            return '#' + [d[0], d[1], d[2]].map(v => v.toString(16).padStart(2, '0')).join('');
        }""",
            [faces[i]["box"]],
        )

    highlight = page.evaluate("window.Emolens.HIGHLIGHT")
    assert ring(2) != highlight
    page.hover("#faces .face >> nth=2")
    assert ring(2) == highlight and ring(4) != highlight
    assert page.get_attribute("#canvas", "data-active") == "3"
    assert "active" in page.get_attribute("#faces .face >> nth=2", "class")
    page.mouse.move(0, 0)  # away from the cards and the photo
    assert ring(2) != highlight and page.get_attribute("#canvas", "data-active") == ""
    page.focus("#faces .face >> nth=4")  # keyboard: a focused card highlights its box too
    assert ring(4) == highlight and ring(2) != highlight
    # pointing at face 2 on the photo marks card 2
    scale = page.locator("#canvas").bounding_box()["width"] / img.shape[1]
    b = faces[1]["box"]
    centre = {"x": (b["x"] + b["w"] / 2) * scale, "y": (b["y"] + b["h"] / 2) * scale}
    page.locator("#canvas").hover(position=centre)
    assert page.get_attribute("#canvas", "data-active") == "2"
    assert "active" in page.get_attribute("#faces .face >> nth=1", "class")
    assert "active" not in page.get_attribute("#faces .face >> nth=4", "class")
    page.locator("#canvas").click(position=centre)  # a click on a face moves the focus to its card
    assert page.evaluate("document.activeElement.dataset.face") == "2"


@pytest.mark.parametrize("path", ["/", "/video", "/live"])
def test_no_progress_bar_or_hidden_element_shows_on_page_load(page, server, path):
    page.goto(f"{server}{path}")
    page.wait_for_load_state("load")
    shown = page.evaluate("""() => [...document.querySelectorAll('[hidden]')]
        .filter(el => getComputedStyle(el).display !== 'none').map(el => el.id || el.className)""")
    assert shown == []
    if path == "/video":
        assert page.locator("#progress-box").is_hidden() and page.locator("#progress-label").is_hidden()
    assert page.evaluate("document.querySelector('link[rel=icon]').href").endswith("/static/img/favicon.svg")


def test_photo_drag_and_drop_and_no_face(page, server):
    page.goto(f"{server}/")
    png = cv2.imencode(".png", np.full((200, 300, 3), 200, np.uint8))[1].tobytes()
    transfer = page.evaluate_handle(
        """bytes => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'wall.png', {type: 'image/png'}));
        return dt;
    }""",
        list(png),
    )
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


@pytest.mark.parametrize(
    "error, needle", [("NotAllowedError", "denied"), ("NotFoundError", "No camera"), (None, "https://")]
)
def test_live_camera_problems_are_explained(page, server, error, needle):
    if error:
        page.add_init_script(
            f"navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('x', '{error}'));"
        )
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


def test_video_job_progress_shows_the_time_left(page, server):
    """The job page's label carries the server's ETA (a job answered by a stand-in route: no timing involved)."""
    answers = iter(
        [
            {"status": "queued", "frames_done": 0, "frame_count": 0, "progress": 0, "eta_s": None},
            {"status": "running", "frames_done": 30, "frame_count": 120, "progress": 0.25, "eta_s": 75.4},
            {"status": "done", "frames_done": 120, "frame_count": 120, "progress": 1, "eta_s": None},
        ]
    )
    page.route("**/api/v1/jobs/stand-in", lambda route: route.fulfill(json=next(answers)))
    page.goto(f"{server}/video")
    labels = page.evaluate("""async () => {
        const seen = [];
        await window.EmolensJobs.poll('/api/v1/jobs/stand-in', (label) => seen.push(label));
        return seen;
    }""")
    assert labels == ["Waiting for the analyser…", "Analysing: frame 30 of 120 · about 1 min 15 s left"]
    assert page.evaluate("[8.4, 80, 731, 3900].map(window.EmolensJobs.duration)") == [
        "8 s",
        "1 min 20 s",
        "12 min",
        "1 h 5 min",
    ]


def test_api_docs_render_offline(page, server, shots):
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock")
    text = page.inner_text("body")
    assert "/api/v1/analyze" in text and "/api/v1/jobs/{job_id}" in text
    page.screenshot(path=str(shots / "docs.png"))
    assert page.outside == []

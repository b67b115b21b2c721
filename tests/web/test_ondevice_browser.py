"""'On this device' in a real browser: Chromium runs the detector and the model; no frame reaches the server.

Debian's Chromium via Playwright with the fake camera (the clip of test_web_browser.py), against a real
`emolens serve` whose access log is read afterwards: it must list no frame or image request.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emolens.core.labels import EMOTIONS

from helpers import astronaut_head
from serving import wait_until_healthy
from test_web_browser import FLAGS, ensure_chromium, free_port, served_model, shots, write_y4m  # noqa: F401

pytestmark = pytest.mark.slow

EMOTION = "|".join(EMOTIONS)
FRAME_PATHS = re.compile(r'"(GET|POST|PUT) /api/v1/(live|analyze|sessions/[^ ]+/live|journal/checkins/camera)')


PASSWORD = "a long enough password"


def counter_clip(path: Path, n: int = 20) -> Path:
    """A customer at the counter, bobbing gently (a seamless loop), and a passer-by crossing the top."""
    head, walker = astronaut_head(1.0), astronaut_head(0.6, mirror=True)
    frames = []
    for i in range(n):
        frame = np.full((480, 640, 3), (70, 80, 90), np.uint8)
        y = 200 + int(6 * np.sin(2 * np.pi * i / n))
        frame[y : y + head.shape[0], 60 : 60 + head.shape[1]] = head
        if 4 <= i < 14:
            x = 600 - walker.shape[1] - 30 * (i - 4)
            frame[10 : 10 + walker.shape[0], x : x + walker.shape[1]] = walker
        frames.append(frame)
    return write_y4m(path, frames)


class Server:
    """A real `emolens serve` on a free port, with its log."""

    def __init__(self, model: str, folder: Path, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        environ = {**os.environ, "EMOLENS_DATA_DIR": str(folder / "data"), **env}
        cmd = [sys.executable, "-m", "emolens.cli", "serve", "--model", model, "--port", str(self.port)]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                cmd + ["--host", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT, env=environ
            )
        try:
            wait_until_healthy(self.base, self.proc, self.log)
        except BaseException:
            self.stop()
            raise

    def requests(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if '"GET ' in line or '"POST ' in line]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium whose fake camera shows a customer at a counter and a passer-by (as test_web_sessions_browser)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [dev] extra)")
    exe = ensure_chromium()
    clip = counter_clip(tmp_path_factory.mktemp("device-camera") / "counter.y4m")
    args = FLAGS + [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=args)
        yield b
        b.close()


@pytest.fixture(scope="module")
def device_server(tiny_model, tmp_path_factory):
    server = Server(served_model(tiny_model), tmp_path_factory.mktemp("device-server"))
    yield server
    server.stop()


@pytest.fixture
def device_page(browser, device_server):  # noqa: F811
    """A fresh page that records every request and WebSocket it opens."""
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(180_000)
    pg.sent, pg.sockets = [], []
    pg.on("request", lambda r: pg.sent.append((r.method, r.url, r.headers.get("content-type", ""))))
    pg.on("websocket", lambda ws: pg.sockets.append(ws.url))
    yield pg
    context.close()


def test_live_page_on_this_device_draws_faces_and_sends_no_frame(device_page, device_server, shots):  # noqa: F811
    page, base = device_page, device_server.base
    page.goto(f"{base}/live")
    assert "on the server" in page.inner_text("#where-now")
    page.check("input[name=where][value=device]")
    assert "on this device" in page.inner_text("#where-now")
    page.click("#start")
    page.wait_for_selector("#faces .face")
    page.wait_for_function("Number(document.getElementById('overlay').dataset.frames) >= 5")
    titles = page.locator("#faces .face h3").all_inner_texts()
    assert titles and all(re.match(rf"Face \d+: (uncertain \(maybe )?({EMOTION})", t) for t in titles), titles
    painted = page.evaluate("""() => {
        const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
        return n;
    }""")
    assert painted > 500, "boxes and labels are drawn over the video"
    assert float(page.inner_text("#fps")) > 0 and page.inner_text("#ms-where") == "device"
    assert page.is_disabled("input[name=where][value=server]"), "the choice is locked while the camera runs"
    page.screenshot(path=str(shots / "live-device.png"), full_page=True)
    page.click("#stop")
    assert page.inner_text("#status") == "Camera off."
    assert page.sockets == [], "no WebSocket: frames are not sent"
    assert {m for m, _, _ in page.sent} == {"GET"}, page.sent
    assert not [u for _, u, _ in page.sent if not u.startswith(base)], "nothing from outside this server"
    logged = device_server.requests()
    assert any("/api/v1/ondevice/model.onnx" in line for line in logged), "the server log is read"
    assert not [line for line in logged if FRAME_PATHS.search(line)], logged


def sign_up_in_page(page, base: str, name: str, next_path: str) -> None:
    page.goto(f"{base}/register?next={next_path}")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")
    page.sent.clear()  # the sign-up form itself is no camera traffic


def no_pictures_sent(page, base: str) -> None:
    """Every request the page made: a GET, or a POST of JSON (numbers); no WebSocket frame was binary."""
    posts = [(u, t) for m, u, t in page.sent if m != "GET"]
    assert posts and all(t.startswith("application/json") for _, t in posts), posts
    assert not [u for _, u, _ in page.sent if not u.startswith(base)], "nothing from outside this server"


def test_journal_checkin_on_this_device_stores_only_shares(device_page, device_server):
    page, base = device_page, device_server.base
    sign_up_in_page(page, base, "robin", "/journal")
    page.check("input[name=where][value=device]")
    page.check("input[name=tag][value=sleep]")
    page.click("#cam-checkin")
    page.wait_for_selector("#status.saved")
    assert "camera check-in (read on this device)" in page.inner_text("#status")
    (checkin,) = page.evaluate("async () => (await fetch('/api/v1/journal/checkins')).json()")
    assert checkin["source"] == "device" and checkin["tags"] == ["sleep"] and not checkin["has_image"]
    assert set(checkin["shares"]) == set(EMOTIONS) and abs(sum(checkin["shares"].values()) - 1) < 1e-3
    assert 1 <= checkin["frames"] <= 8 and checkin["confidence"] > 0
    no_pictures_sent(page, base)
    assert page.sockets == []
    assert not [line for line in device_server.requests() if FRAME_PATHS.search(line)]


def test_counter_session_on_this_device_is_scored(device_page, device_server, shots):  # noqa: F811
    page, base = device_page, device_server.base
    sign_up_in_page(page, base, "shop", "/sessions/counter")
    page.check("input[name=where][value=device]")
    page.fill("#location", "Main St")
    page.fill("#agent", "ana")
    page.click("#start")
    page.wait_for_selector("#faces .face")
    # a score needs 5 s of usable customer face time: a frame stands for at most 1 s, so 8 s and at least
    # 12 frames read on this device are enough at any speed
    page.wait_for_timeout(8000)
    page.wait_for_function("Number(document.getElementById('overlay').dataset.frames) >= 12")
    assert page.inner_text("#ms-where") == "device"
    page.screenshot(path=str(shots / "satisfaction-counter-device.png"), full_page=True)
    page.click("#stop")
    page.wait_for_selector("#result:not([hidden])")
    score = page.inner_text("#result-score")
    assert re.fullmatch(r"\d{1,3}", score), f"a score, not {score!r}: {page.inner_text('#result-summary')}"
    no_pictures_sent(page, base)
    assert len(page.sockets) == 1, "one socket for the session's numbers"
    assert not [line for line in device_server.requests() if FRAME_PATHS.search(line)]


def test_offline_after_first_load_live_page_runs_and_journal_checkin_is_queued(browser, device_server):
    """The installable app: its service worker keeps pages, models and the runtime; the network is then cut
    (Playwright's offline context): the live page still reads faces, a check-in waits and is stored later."""
    base = device_server.base
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    page = context.new_page()
    page.set_default_timeout(180_000)
    sign_up_in_page_plain(page, base, "offline", "/journal")
    manifest = page.evaluate("async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()")
    assert manifest["start_url"] == "/live" and {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    page.wait_for_function("navigator.serviceWorker.controller !== null")  # the worker controls this page
    page.goto(f"{base}/journal")  # now through the worker: the page is kept
    page.goto(f"{base}/live")
    page.check("input[name=where][value=device]")
    page.click("#start")  # first run on this device: the models and the WASM build are cached
    page.wait_for_function("Number(document.getElementById('overlay').dataset.frames) >= 2")
    page.click("#stop")

    context.set_offline(True)
    assert page.evaluate("navigator.onLine") is False
    page.reload()
    assert page.is_checked("input[name=where][value=device]"), "the choice is remembered"
    page.click("#start")
    page.wait_for_selector("#faces .face")
    page.wait_for_function("Number(document.getElementById('overlay').dataset.frames) >= 3")
    assert float(page.inner_text("#fps")) > 0
    page.click("#stop")

    page.goto(f"{base}/journal")  # the kept page
    page.wait_for_selector("#status.error")  # its lists cannot load: it says so
    assert "offline" in page.inner_text("#status")
    page.click(".mood[data-mood=happy]")
    page.wait_for_function("document.getElementById('status').textContent.includes('sent when the network returns')")
    assert page.evaluate("JSON.parse(localStorage.getItem('emolens.journal.queue')).length") == 1
    context.set_offline(False)  # the 'online' event sends what waited
    page.wait_for_function("document.getElementById('status').textContent.includes('Sent 1 check-in')")
    (checkin,) = page.evaluate("async () => (await fetch('/api/v1/journal/checkins')).json()")
    assert (checkin["source"], checkin["emotion"]) == ("manual", "happy")
    assert page.evaluate("JSON.parse(localStorage.getItem('emolens.journal.queue')).length") == 0
    context.close()


def sign_up_in_page_plain(page, base: str, name: str, next_path: str) -> None:
    page.goto(f"{base}/register?next={next_path}")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")

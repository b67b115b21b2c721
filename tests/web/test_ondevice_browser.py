"""'On this device' in a real browser: Chromium runs the detector and the model; no frame reaches the server.

Debian's Chromium via Playwright with the fake camera (the clip of test_web_browser.py), against a real
`emolens serve` whose access log is read afterwards: it must list no frame or image request.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from emolens.core.labels import EMOTIONS

from test_web_browser import browser, free_port, served_model, shots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

EMOTION = "|".join(EMOTIONS)
FRAME_PATHS = re.compile(r'"(GET|POST|PUT) /api/v1/(live|analyze|sessions/[^ ]+/live|journal/checkins/camera)')


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
        deadline = time.monotonic() + 300  # generous: CI machines are shared and slow
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the server did not start:\n{self.log.read_text()}")
                time.sleep(0.2)

    def requests(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if '"GET ' in line or '"POST ' in line]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


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
    pg.on("request", lambda r: pg.sent.append((r.method, r.url)))
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
    assert {m for m, _ in page.sent} == {"GET"}, page.sent
    assert not [u for _, u in page.sent if not u.startswith(base)], "nothing from outside this server"
    logged = device_server.requests()
    assert any("/api/v1/ondevice/model.onnx" in line for line in logged), "the server log is read"
    assert not [line for line in logged if FRAME_PATHS.search(line)], logged

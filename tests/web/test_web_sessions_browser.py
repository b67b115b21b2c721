"""Satisfaction pages in a real browser (Debian's Chromium via Playwright, as test_web_browser.py):
sign up, run a counter session on the fake camera (a Y4M clip of real photos), stop it, see the
score, open the session page and the dashboard. Screenshots as in test_web_browser.py
(EMOLENS_UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/satisfaction-*.png)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.analysis import analyze_recording
from emolens.apps.satisfaction.recording import FaceSample, Recording
from emolens.core.labels import EMOTIONS

from helpers import astronaut_head
from serving import wait_until_healthy
from test_web_browser import DOCS_SHOTS, FLAGS, ensure_chromium, free_port, save_small_png, served_model, write_y4m

pytestmark = pytest.mark.slow

PASSWORD = "a long enough password"


def counter_clip(path: Path, n: int = 20) -> Path:
    """A customer at the counter (bobbing gently, so the loop is seamless) and a passer-by crossing the top."""
    head = astronaut_head(1.0)
    walker = astronaut_head(0.6, mirror=True)
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


@pytest.fixture(scope="module")
def served(tiny_model, tmp_path_factory):
    """(base url, data dir) of a real `emolens serve` with its own database."""
    port = free_port()
    folder = tmp_path_factory.mktemp("sessions-server")
    env = {**os.environ, "EMOLENS_DATA_DIR": str(folder / "data")}
    with open(folder / "server.log", "w") as out:
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
        wait_until_healthy(base, proc, (folder / "server.log"))
        yield base, folder / "data"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def shots(screenshot_dir):
    yield screenshot_dir
    if os.environ.get("EMOLENS_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        for png in screenshot_dir.glob("satisfaction-*.png"):
            save_small_png(png, DOCS_SHOTS / png.name)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [dev] extra)")
    exe = ensure_chromium()
    clip = counter_clip(tmp_path_factory.mktemp("counter-camera") / "counter.y4m")
    args = FLAGS + [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=args)
        yield b
        b.close()


def seed_history(data_dir: Path, username: str, days: int = 14) -> None:
    """Earlier sessions (synthetic per-frame numbers) so the dashboard has trends to show."""
    db = open_database(data_dir / "emolens.db", all_migrations())
    user = accounts.find_user(db, username)
    rng = np.random.default_rng(7)
    happy, sad, neutral = (EMOTIONS.index(k) for k in ("happy", "sad", "neutral"))
    now = datetime.now(timezone.utc)
    for day in range(days, 0, -1):
        for location, agent, mood in (("Main St", "ana", 0.55), ("Main St", "ben", 0.35), ("Airport", "chloe", 0.2)):
            n = int(rng.integers(150, 400))  # 15..40 s at 10 fps
            trend = mood + 0.015 * (days - day) * (1 if agent != "ben" else -1)
            faces = []
            for i in range(n):
                p = np.full(len(EMOTIONS), 0.02)
                p[happy] += max(0.0, trend + 0.2 * np.sin(i / 25)) * 0.8
                p[sad] += max(0.0, 0.35 - trend) * 0.8
                p[neutral] += 0.3
                faces.append(FaceSample(i, 1, (0.3, 0.3, 0.15, 0.2), tuple(p / p.sum()), True))
            rec = Recording(EMOTIONS, tuple(i / 10 for i in range(n)), tuple(faces))
            when = (now - timedelta(days=day, hours=int(rng.integers(0, 8)))).strftime("%Y-%m-%dT%H:%M:%SZ")
            s = store.create_session(db, user.id, location=location, agent=agent, source="video", started_at=when)
            store.save_analysis(db, s.id, analyze_recording(rec))


def test_counter_session_start_stop_score_then_session_page_and_dashboard(browser, served, shots):
    base, data_dir = served
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(180_000)
    outside = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith((base, "data:", "blob:", base.replace("http", "ws")))
            else None
        ),
    )

    page.goto(f"{base}/sessions/counter")
    assert page.url.startswith(f"{base}/login"), "signed-out visitors are sent to sign in"
    page.goto(f"{base}/register?next=/sessions/counter")
    page.fill("#username", "shop")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"{base}/sessions/counter")
    assert "Only numbers are kept" in page.inner_text("#notice")
    assert page.get_attribute("#stage", "class").endswith("view-blur")
    assert page.evaluate("getComputedStyle(document.getElementById('video')).filter").startswith("blur")

    page.fill("#location", "Main St")
    page.fill("#agent", "ana")
    page.click("#start")
    page.wait_for_selector("#faces .face")
    page.wait_for_function("parseFloat(document.getElementById('fps').textContent) > 0")
    assert page.is_disabled("#location"), "the form is locked while recording"
    assert page.is_hidden("#result"), "no score before Stop"
    page.select_option("#view", "show")
    assert page.get_attribute("#stage", "class").endswith("view-show")
    # more than the 5 s of usable customer face time a score needs, at any speed: a frame stands for at
    # most 1 s, so 8 s and at least 12 answered frames are enough whether the server is fast or slow
    page.wait_for_timeout(8000)
    page.wait_for_function("Number(document.getElementById('overlay').dataset.frames) >= 12")
    page.screenshot(path=str(shots / "satisfaction-counter.png"), full_page=True)
    page.click("#stop")
    page.wait_for_selector("#result:not([hidden])")
    score = page.inner_text("#result-score")
    assert re.fullmatch(r"\d{1,3}", score), f"a score, not {score!r}: {page.inner_text('#result-summary')}"
    assert "Session scored" in page.inner_text("#status")
    assert float(page.inner_text("#result-confidence")) > 0

    page.click("#result-link")
    page.wait_for_selector("#timeline .main-svg")
    assert page.inner_text("#score").startswith(score)
    assert page.locator("#tracks-table tbody tr").count() >= 1
    roles = page.locator("#tracks-table tbody td:nth-child(3)").all_inner_texts()
    assert roles.count("customer") >= 1
    page.screenshot(path=str(shots / "satisfaction-session.png"), full_page=True)

    seed_history(data_dir, "shop")
    page.goto(f"{base}/sessions?period=day&by=agent")
    page.wait_for_selector("#trend .main-svg")
    assert page.locator("#upload-progress").is_hidden() and page.locator("#upload-label").is_hidden()
    assert (
        page.evaluate("""() => [...document.querySelectorAll('[hidden]')]
        .filter(el => getComputedStyle(el).display !== 'none').length""")
        == 0
    )
    page.wait_for_selector("#groups .main-svg")
    assert page.locator("#sessions-table tbody tr").count() == 1 + 14 * 3
    assert page.locator("#groups-table tbody tr").count() == 3  # ana, ben, chloe
    page.screenshot(path=str(shots / "satisfaction-dashboard.png"), full_page=False)
    assert outside == []
    context.close()

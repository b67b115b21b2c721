"""The journal's feedback in a real browser: check in with photos (one crop contributed), correct several check-ins,
watch the personal adaptation's status change, turn it off, reset it, withdraw the contributed crop; and a real
`emolens serve` without --model following `emolens models use`, its journal chart marking the day the model changed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import pytest

from emolens.core.card import sha256_file
from emolens.inference import versions

from helpers import astronaut_bgr, make_tiny_model
from serving import wait_until_healthy
from test_web_browser import browser, free_port, page, shots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, tiny_model):
    """The server's data folder, with two tiny models installed and the first one active."""
    data = tmp_path_factory.mktemp("feedback-server") / "data"
    versions.install(data, tiny_model, "tiny-a")
    versions.install(data, make_tiny_model(data.parent / "b", seed=7), "tiny-b")
    versions.use(data, "tiny-a")
    return data


@pytest.fixture(scope="module")
def server(data_dir):
    """A real `emolens serve` on a free 127.0.0.1 port, with no --model: it serves the data folder's active model."""
    port = free_port()
    log = data_dir.parent / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "EMOLENS_MODEL"}
    env["EMOLENS_DATA_DIR"] = str(data_dir)
    cmd = [sys.executable, "-m", "emolens.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def register(page, server, name: str) -> None:  # noqa: F811
    page.goto(f"{server}/journal")
    page.click("text=Create an account")
    page.fill("#username", name)
    page.fill("#password", "corrections teach")
    page.fill("#confirm", "corrections teach")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/journal")


def test_corrections_adapt_then_off_reset_and_withdraw(page, server, shots, tmp_path):  # noqa: F811
    page.on("dialog", lambda d: d.accept())
    register(page, server, "kim")
    page.wait_for_selector("#adapt-state:has-text('No corrections yet')")
    assert page.is_checked("#adapt-enabled") and page.is_disabled("#adapt-reset")
    assert page.is_checked("#contribute") is False  # off by default
    page.wait_for_selector("#contrib-state:has-text('None')")

    me = tmp_path / "me.jpg"
    cv2.imwrite(str(me), astronaut_bgr())
    for i in range(4):
        if i == 0:
            page.check("#contribute")
        page.set_input_files("#photo-input", str(me))
        page.wait_for_selector(f"#entries .entry >> nth={i}")
        page.wait_for_selector("#status:has-text('Saved your photo check-in')")
        assert page.is_checked("#contribute") is False  # consent is per check-in
    assert page.locator("#entries .entry:has-text('face crop contributed')").count() == 1
    page.wait_for_selector("#contrib-list li img")
    assert page.evaluate("document.querySelector('#contrib-list img').naturalWidth") == 48

    for n in range(1, 4):  # correct three of them: the status follows each correction
        entry = page.locator("#entries .entry").nth(n)
        entry.locator("select").select_option("sad")
        page.wait_for_selector(f"#adapt-state:has-text('rests on {n} correction')")
    assert page.inner_text("#adapt-state").startswith("On.") and "right before" in page.inner_text("#adapt-state")
    assert page.is_enabled("#adapt-reset")
    page.set_input_files("#photo-input", str(me))
    page.wait_for_selector("#entries .entry >> nth=4")
    assert "personally adapted" in page.locator("#entries .entry").first.inner_text()
    page.screenshot(path=str(shots / "journal-feedback.png"), full_page=True)

    page.uncheck("#adapt-enabled")
    page.wait_for_selector("#adapt-status:has-text('Personal adaptation off.')")
    assert page.inner_text("#adapt-state").startswith("Off.")
    page.set_input_files("#photo-input", str(me))
    page.wait_for_selector("#entries .entry >> nth=5")
    assert "personally adapted" not in page.locator("#entries .entry").first.inner_text()
    status = page.evaluate("async () => (await fetch('/api/v1/journal/adaptation')).json()")
    assert status["enabled"] is False and status["corrections"] == 3

    page.click("#adapt-reset")
    page.wait_for_selector("#adapt-state:has-text('No corrections yet')")
    assert page.inner_text("#adapt-status").startswith("Reset")

    page.click("#contrib-list button:has-text('Withdraw')")
    page.wait_for_selector("#contrib-status:has-text('Contribution withdrawn.')")
    assert page.locator("#contrib-list li").count() == 0
    assert page.evaluate("async () => (await fetch('/api/v1/journal/contributions')).json()") == []
    assert page.outside == []


def test_the_server_follows_models_use_and_the_chart_marks_the_change(page, server, data_dir, tmp_path):  # noqa: F811
    register(page, server, "lee")
    me = tmp_path / "me.jpg"
    cv2.imwrite(str(me), astronaut_bgr())
    model = "async () => (await (await fetch('/api/v1/model')).json()).sha256"
    sha_a, sha_b = (sha256_file(data_dir / "models" / name / "model.onnx") for name in ("tiny-a", "tiny-b"))
    assert page.evaluate(model) == sha_a
    page.set_input_files("#photo-input", str(me))
    page.wait_for_selector("#entries .entry >> nth=0")
    assert "model changed" not in page.inner_text("#chart-indexes")

    versions.use(data_dir, "tiny-b")  # what `emolens models use tiny-b` does: the running server follows
    assert page.evaluate(model) == sha_b
    page.select_option("#group", "day")
    page.set_input_files("#photo-input", str(me))
    page.wait_for_selector("#entries .entry >> nth=1")
    page.wait_for_selector("#chart-indexes .annotation-text:has-text('model changed')")
    assert sha_b[:8] in page.inner_text("#chart-indexes")
    readings = page.evaluate("async () => (await fetch('/api/v1/journal/checkins')).json()")
    assert [c["model_sha256"] for c in readings] == [sha_b, sha_a]  # newest first

    versions.rollback(data_dir)
    assert page.evaluate(model) == sha_a
    assert page.outside == []

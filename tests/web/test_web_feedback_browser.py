"""The journal's feedback in a real browser: check in with photos (one crop contributed), correct several check-ins,
watch the personal adaptation's status change, turn it off, reset it, withdraw the contributed crop."""

from __future__ import annotations

import cv2
import pytest

from helpers import astronaut_bgr
from test_web_browser import browser, page, server, shots  # noqa: F401 (fixtures: a server of this module's own)

pytestmark = pytest.mark.slow


def test_corrections_adapt_then_off_reset_and_withdraw(page, server, shots, tmp_path):  # noqa: F811
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{server}/journal")
    page.click("text=Create an account")
    page.fill("#username", "kim")
    page.fill("#password", "corrections teach")
    page.fill("#confirm", "corrections teach")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/journal")
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

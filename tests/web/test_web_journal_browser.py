"""The mood journal in a real browser (Debian's Chromium via Playwright, the fake camera fed real photos).

Register, calibrate the resting face with the camera, check in with the camera, pick a mood,
correct and delete an entry, see the charts and suggestions, export, delete the account.
Same server, browser and screenshot helpers as test_web_browser.py; screenshots go to
docs/screenshots/journal*.png only with EMOLENS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import cv2
import pytest

from helpers import crowded_group_photo
from test_web_browser import browser, page, server, shots  # noqa: F401 (fixtures: a server of this module's own)

pytestmark = pytest.mark.slow

HISTORY = [
    ("happy", ["exercise"]),
    ("neutral", ["work"]),
    ("happy", ["friends"]),
    ("neutral", ["work"]),
    ("happy", ["exercise", "outdoors"]),
    ("surprise", []),
    ("neutral", ["work"]),
    ("happy", ["exercise"]),
    ("neutral", ["work", "sleep"]),
    ("sad", ["work"]),
    ("sad", ["sleep"]),
    ("sad", ["work", "sleep"]),
]


def _in_view(pg, selector: str) -> bool:
    return pg.evaluate(
        """sel => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def test_journal_register_calibrate_checkin_and_charts(page, server, shots, tmp_path):  # noqa: F811
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{server}/journal")
    assert page.url == f"{server}/login?next=/journal"
    page.click("text=Create an account")
    page.fill("#username", "robin")
    page.fill("#password", "walks in the park")
    page.fill("#confirm", "walks in the park")
    page.screenshot(path=str(shots / "journal-register.png"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/journal")
    assert "Signed in as robin" in page.inner_text("header")
    page.wait_for_selector("#baseline-state:has-text('Not calibrated')")
    assert "No check-ins" in page.inner_text("#summary-text")
    assert page.locator("#forget-baseline").is_hidden(), "nothing to forget before calibrating"
    assert page.locator("#cam-caption").is_visible() and page.inner_text("#cam-caption") == "Camera off"
    assert (
        page.evaluate("document.getElementById('cam').closest('figure').getAttribute('aria-labelledby')")
        == "cam-caption"
    )

    page.click("#calibrate")  # ~4 s of the fake camera: the astronaut's face
    page.wait_for_selector("#cam-caption:has-text('Camera on')")
    page.wait_for_selector("#baseline-state:text-matches('^Calibrated')")
    assert "frames" in page.inner_text("#baseline-state")
    assert page.locator("#forget-baseline").is_visible() and page.inner_text("#cam-caption") == "Camera off"

    # a photo check-in with six faces: confirmed on screen, next to the buttons, saying which face was read
    group = tmp_path / "group.png"
    cv2.imwrite(str(group), crowded_group_photo()[0])
    page.set_input_files("#photo-input", str(group))
    page.wait_for_selector("#status:has-text('Saved your photo check-in')")
    assert "6 faces found, used the largest." in page.inner_text("#status") and _in_view(page, "#status")
    page.wait_for_selector("#entries .entry.new")
    assert "photo" in page.inner_text("#entries .entry.new")
    page.locator("#entries .entry").first.locator("button:has-text('Delete')").click()
    page.wait_for_selector("#status:has-text('Check-in deleted.')")

    page.fill("#note", "Morning walk before work")
    page.check("input[name=tag][value=exercise]")
    page.click("#cam-checkin")
    page.wait_for_selector("#status:has-text('Saved your camera check-in')")
    page.wait_for_selector("#entries .entry")
    first = page.inner_text("#entries .entry")
    assert "camera" in first and "relative to your baseline" in first and "exercise" in first
    assert "Morning walk before work" in first and "photo kept" not in first

    page.click(".mood[data-mood=happy]")
    page.wait_for_selector("#entries .entry >> nth=1")
    newest = page.locator("#entries .entry").first
    assert "picked mood" in newest.inner_text()
    newest.locator("select").select_option("surprise")
    page.wait_for_selector("#entries .entry:has-text('corrected; read as happy')")

    page.wait_for_selector("#chart-indexes .main-svg")
    page.wait_for_selector("#chart-shares .main-svg")
    page.wait_for_selector("#chart-weekdays .main-svg")
    assert page.locator("#chart-shares .legend .traces").count() == 7
    assert "2 check-ins on 1 of the last 30 days" in page.inner_text("#summary-text")
    assert page.inner_text("#disclaimer").startswith("emolens is not a medical device")

    # Two weeks of earlier moods through the API, as the page itself sends them (session cookie + CSRF header).
    added = page.evaluate(
        """async (moods) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        let ok = 0;
        for (const [i, [mood, tags]] of moods.entries()) {
            const at = new Date(Date.now() - (moods.length - i) * 86400000).toISOString();
            const r = await fetch('/api/v1/journal/checkins', {method: 'POST', body: JSON.stringify({mood, tags, at}),
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}});
            ok += r.status === 201;
        }
        return ok;
    }""",
        HISTORY,
    )
    assert added == len(HISTORY)
    page.reload()
    page.wait_for_selector("#suggestions .suggestion")
    titles = page.locator("#suggestions h3").all_inner_texts()
    assert "Reach out to someone" in titles, titles  # three sad days in a row
    assert page.locator("#crisis").is_hidden()
    page.wait_for_selector("#chart-indexes .main-svg")
    assert "exercise" in page.inner_text("#tags-table")
    page.screenshot(path=str(shots / "journal.png"), full_page=True)

    csv_text = page.evaluate("async () => (await fetch('/api/v1/journal/export?format=csv')).text()")
    assert csv_text.startswith("id,created_at") and len(csv_text.strip().splitlines()) == 3 + len(HISTORY)

    assert page.locator("#entries .entry").count() == 2 + len(HISTORY)
    page.locator("#entries .entry").first.locator("button:has-text('Delete')").click()
    page.wait_for_selector("#status:has-text('Check-in deleted.')")
    assert page.locator("#entries .entry").count() == 1 + len(HISTORY)
    assert "corrected" not in page.inner_text("#entries")  # the newest, the corrected mood, went

    page.click("text=Delete my account")
    page.fill("#confirm-name", "robin")
    page.click("#delete-account")
    page.wait_for_url(f"{server}/register")
    assert page.evaluate("async () => (await fetch('/api/v1/auth/me')).status") == 401
    assert page.outside == []

"""On-device preprocessing (static/js/ondevice/preprocess.js) against the server's, in headless Chromium.

The same frames and detections go through align.crop_face + core.preprocess + core.tta in Python and
through the JS port in the browser; every input value must agree within 1/255 of the pixel range.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest

from emolens.core.card import ModelCard
from emolens.core.preprocess import preprocess
from emolens.core.tta import tta_views
from emolens.inference.align import crop_face
from emolens.inference.detectors import create_detector
from emolens.inference.detectors.base import Detection

from helpers import astronaut_bgr, crowded_group_photo
from test_web_browser import FLAGS, ensure_chromium

pytestmark = pytest.mark.slow

STATIC = Path(__file__).resolve().parents[2] / "src/emolens/web/static"


@pytest.fixture(scope="module")
def js_page():
    """A blank page with preprocess.js (no server needed: the script is pure computation)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [dev] extra)")
    exe = ensure_chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        page = browser.new_page()
        page.add_script_tag(path=str(STATIC / "js/ondevice/preprocess.js"))
        yield page
        browser.close()


def _js_inputs(page, bgr: np.ndarray, det: Detection, card: ModelCard) -> np.ndarray:
    """The JS views of one face: (V, C, S, S)."""
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    flat = page.evaluate(
        """([b64, w, h, det, card]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const D = window.EmolensDevice;
        const crop = D.cropFace({data: bytes, width: w, height: h, channels: 4}, det, card.crop_margin, card.align);
        const views = D.ttaViews(D.toInput(crop, card), card.channels, card.input_size, card.tta);
        return views.map((v) => Array.from(v));
    }""",
        [
            base64.b64encode(rgba.tobytes()).decode(),
            bgr.shape[1],
            bgr.shape[0],
            {"box": list(det.box), "landmarks": [list(p) for p in det.landmarks] if det.landmarks else None},
            {k: v for k, v in card.to_dict().items() if k not in ("metrics", "train_config")},
        ],
    )
    s = card.input_size
    return np.asarray(flat, np.float32).reshape(len(flat), card.channels, s, s)


def _py_inputs(bgr: np.ndarray, det: Detection, card: ModelCard) -> np.ndarray:
    crop = crop_face(bgr, det, margin=card.crop_margin, align=card.align)
    return np.stack([v[0] for v in tta_views(preprocess([crop], card), card.tta)])


def _cases():
    """Real faces found by CenterFace: a big rotated one, a crowd (small and edge faces), hand-made edge cases."""
    detector = create_detector("centerface", max_side=1024)
    astro = astronaut_bgr()
    group, _ = crowded_group_photo()
    tilted = cv2.warpAffine(astro, cv2.getRotationMatrix2D((256, 256), 17, 1.0), (512, 512))
    cases = [(astro, d) for d in detector.detect(astro)]
    cases += [(tilted, d) for d in detector.detect(tilted)]
    cases += [(group, d) for d in detector.detect(group)]
    lms = ((12.0, 15.0), (30.0, 11.0), (20.0, 22.0), (14.0, 30.0), (28.0, 29.0))
    cases += [
        (astro, Detection((-10.0, 400.0, 60.0, 80.0), 0.9, None)),  # past the image edge: replicated borders
        (astro, Detection((100.5, 50.25, 30.0, 26.0), 0.9, lms)),  # smaller than 48 px: enlarged, tilted eyes
        (astro, Detection((200.0, 100.0, 96.0, 96.0), 0.9, None)),  # exactly twice the input size
    ]
    return cases


CARDS = {
    "gray-area-flip-zoom": ModelCard(tta=("flip", "zoom")),
    "gray-margin-shift": ModelCard(crop_margin=0.1, tta=("shift",), mean=(0.4,), std=(0.3,)),
    "rgb-64-linear-noalign": ModelCard(
        channels=3, input_size=64, mean=(0.5, 0.45, 0.4), std=(0.25, 0.2, 0.3), interpolation="linear", align=False
    ),
}


@pytest.mark.parametrize("name", list(CARDS))
def test_js_preprocessing_matches_python_within_one_level(js_page, name):
    card = CARDS[name]
    cases = _cases()
    assert len(cases) >= 9, "CenterFace found the test faces"
    worst = 0.0
    for bgr, det in cases:
        py, js = _py_inputs(bgr, det, card), _js_inputs(js_page, bgr, det, card)
        assert js.shape == py.shape
        std = np.asarray(card.std, np.float32).reshape(1, -1, 1, 1)
        worst = max(worst, float((np.abs(js - py) * std).max()))  # back to the 0..1 pixel range
    assert worst <= 1 / 255 + 1e-6, f"max difference {worst * 255:.3f}/255"

"""The device gives the server's answers: ONNX Runtime Web in headless Chromium against ONNX Runtime in Python.

The shipped `default` model and CenterFace run in the browser on the vendored WASM build (files served to the
page by Playwright routes from the package's static folder: no server, no network) and here on the same
inputs: the same faces in real photos, and top-1 agreement >= 99% on 200 FER2013 PublicTest crops.
"""

from __future__ import annotations

import base64
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from emolens.inference.analyzer import Analyzer
from emolens.inference.classifier import Classifier
from emolens.inference.detectors.centerface import packaged_model
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.tracking import box_iou
from emolens.web.services.engine import Engine
from emolens.web.services.ondevice import device_config

from datagen import FER_ZIP
from helpers import astronaut_bgr, crowded_group_photo
from test_web_browser import FLAGS, ensure_chromium

pytestmark = pytest.mark.slow

STATIC = Path(__file__).resolve().parents[2] / "src/emolens/web/static"
ORIGIN = "http://localhost:9"  # routed, never reached; localhost is a secure context (threads need one)
ISOLATED = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}
SCRIPTS = ["vendor/onnxruntime-web/ort.wasm.min.js"] + [
    f"js/ondevice/{n}" for n in ("preprocess.js", "detect.js", "track.js", "engine.js")
]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer("default", "centerface", max_side=1024)


@pytest.fixture(scope="module")
def device(analyzer):
    """A page whose EmolensDevice engine runs the default model and CenterFace (window.engine)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [dev] extra)")
    exe = ensure_chromium()
    model = analyzer.classifier.model_dir / analyzer.card.onnx_file
    files = {"/model.onnx": model, "/detector.onnx": packaged_model()}
    types = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def serve(route):
        path = route.request.url[len(ORIGIN) :].split("?")[0]
        if path == "/":  # cross-origin isolated, so WASM may use both cores (threads need SharedArrayBuffer)
            return route.fulfill(
                body="<!doctype html><title>device</title>", content_type="text/html", headers=ISOLATED
            )
        local = files.get(path) or STATIC / path.removeprefix("/static/")
        if not local.is_file():
            return route.fulfill(status=404, body="")
        route.fulfill(
            body=local.read_bytes(), content_type=types.get(local.suffix, "application/octet-stream"), headers=ISOLATED
        )

    config = device_config(Engine(analyzer, "centerface"), alpha=0.4, forced=False)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        context = browser.new_context()
        context.route(f"{ORIGIN}/**", serve)  # the context's routes also serve the runtime's worker threads
        page = context.new_page()
        page.set_default_timeout(300_000)
        page.goto(f"{ORIGIN}/")
        assert page.evaluate("self.crossOriginIsolated"), "the page may use WASM threads"
        for script in SCRIPTS:
            page.add_script_tag(url=f"{ORIGIN}/static/{script}")
        page.evaluate(
            """async (config) => {
            ort.env.wasm.wasmPaths = '/static/vendor/onnxruntime-web/';
            ort.env.wasm.numThreads = self.crossOriginIsolated ? 2 : 1;
            const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
            const det = await ort.InferenceSession.create(await get('/detector.onnx'));
            const cls = await ort.InferenceSession.create(await get('/model.onnx'));
            window.engine = new EmolensDevice.Engine(config, det, cls);
        }""",
            config,
        )
        yield page
        browser.close()


def _device_faces(page, bgr: np.ndarray) -> list[dict]:
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    return page.evaluate(
        """async ([b64, w, h]) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        engine.reset();
        return (await engine.process({data, width: w, height: h})).faces;
    }""",
        [base64.b64encode(rgba.tobytes()).decode(), bgr.shape[1], bgr.shape[0]],
    )


@pytest.mark.parametrize("name", ["astronaut", "crowd"])
def test_device_finds_the_same_faces_with_the_same_labels(device, analyzer, name):
    bgr = astronaut_bgr() if name == "astronaut" else crowded_group_photo()[0]
    assert max(bgr.shape[:2]) <= 1024, "no downscaling on either side"
    server = StreamAnalyzer(analyzer, StreamOptions()).process(bgr, 0, 0.0).faces
    mine = _device_faces(device, bgr)
    assert len(server) >= 1 and len(mine) == len(server)
    for s, d in zip(server, mine):  # both best score first
        box = (d["box"]["x"], d["box"]["y"], d["box"]["w"], d["box"]["h"])
        assert box_iou(s.box, box) > 0.95 and abs(s.score - d["score"]) < 0.01
        assert d["emotion"] == s.emotion and abs(d["confidence"] - s.confidence) < 0.01
        assert d["quality"]["tiny"] == s.quality.tiny and abs(d["quality"]["brightness"] - s.quality.brightness) < 1


def _publictest_crops(n: int = 200) -> list[np.ndarray]:
    """n PublicTest images spread evenly over the split (sorted names, every k-th), as 48x48 gray arrays."""
    with zipfile.ZipFile(FER_ZIP) as zf:
        names = sorted(x for x in zf.namelist() if x.startswith("test/") and x.lower().endswith((".jpg", ".png")))
        step = len(names) / n
        picked = [names[int(i * step)] for i in range(n)]
        return [cv2.imdecode(np.frombuffer(zf.read(x), np.uint8), cv2.IMREAD_GRAYSCALE) for x in picked]


@pytest.mark.skipif(not FER_ZIP.exists(), reason=f"FER2013 not found at {FER_ZIP}")
def test_top1_agreement_on_200_fer2013_publictest_crops(device):
    crops = _publictest_crops()
    assert len(crops) == 200 and all(c.shape == (48, 48) for c in crops)
    server = Classifier("default", precision="float").predict(crops)  # the page reads the float graph (ondevice.py)
    rgb = np.stack([cv2.cvtColor(c, cv2.COLOR_GRAY2RGB) for c in crops])
    mine = np.asarray(
        device.evaluate(
            """async ([b64, n]) => {
            const all = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), side = 48 * 48 * 3;
            const crops = [];
            for (let i = 0; i < n; i++)
                crops.push({data: all.subarray(i * side, (i + 1) * side), width: 48, height: 48, channels: 3});
            const out = [];
            for (let i = 0; i < n; i += 50) out.push(...await engine.classify(crops.slice(i, i + 50)));
            return out;
        }""",
            [base64.b64encode(rgb.tobytes()).decode(), len(crops)],
        )
    )
    agree = float((mine.argmax(1) == server.argmax(1)).mean())
    assert agree >= 0.99, f"top-1 agreement {agree:.3f}"
    assert np.abs(mine - server).max() < 0.02, "the probabilities themselves agree"
    assert len(set(server.argmax(1))) >= 5, "a real spread of labels, not one class"

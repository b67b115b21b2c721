"""Frames per second "on this device": ONNX Runtime Web (the vendored WASM build) in headless Chromium.

    python benchmarks/bench_ondevice.py --model fast --frames 12
    python benchmarks/bench_ondevice.py --model default --frames 12 --throttle 4

The page runs the live camera's engine (static/js/ondevice/: CenterFace, crop, the model with its card's TTA,
tracking) on a 640x480 frame with two faces on one thread (the server sends no cross-origin isolation
headers, so browsers give WASM one thread), frame by frame in turn with the server's own path (ONNX Runtime
in Python, one thread), so that both see the same load on a shared machine. --throttle N slows Chromium's
CPU N times (DevTools' CPU throttling): Lighthouse's mobile preset uses 4x to stand for a mid-range phone,
which is how the phone-class figure in BENCHMARKS.md is estimated.
Needs Debian's chromium and the [dev] extra (playwright).
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import sync_playwright

from emolens.core import machine
from emolens.inference.analyzer import Analyzer
from emolens.inference.detectors.centerface import packaged_model
from emolens.web.services.engine import Engine
from emolens.web.services.ondevice import device_config

STATIC = Path(__file__).resolve().parents[1] / "src/emolens/web/static"
ORIGIN = "http://emolens.bench"
SCRIPTS = ["vendor/onnxruntime-web/ort.wasm.min.js"] + [
    f"js/ondevice/{n}" for n in ("preprocess.js", "detect.js", "track.js", "engine.js")
]
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}


def frame() -> np.ndarray:
    """640x480: the astronaut's face twice (240 and 160 px), as the live-page tests' camera clip."""
    from skimage import data  # scikit-image's sample photo (the [dev] extra), as the tests use

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    out = np.full((480, 640, 3), (70, 80, 90), np.uint8)
    out[40:280, 40:280] = cv2.resize(face, (240, 240), interpolation=cv2.INTER_AREA)
    out[300:460, 420:580] = cv2.resize(face[:, ::-1], (160, 160), interpolation=cv2.INTER_AREA)
    return out


def native_stream(analyzer: Analyzer, bgr: np.ndarray):
    """The server's live path (detect, crop, classify, track; ONNX Runtime, one thread), warmed up."""
    from emolens.inference.stream import StreamAnalyzer

    stream = StreamAnalyzer(analyzer)
    for i in range(2):
        stream.process(bgr, i, 0.0)
    return stream, bgr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fast")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--throttle", type=float, default=1.0, help="Chromium CPU slowdown (4 ~ a mid-range phone)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    analyzer = Analyzer(args.model, "centerface")
    files = {"/model.onnx": analyzer.classifier.model_dir / analyzer.card.onnx_file, "/detector.onnx": packaged_model()}
    config = device_config(Engine(analyzer, "centerface"), alpha=0.4, forced=False)

    def serve(route):
        path = route.request.url[len(ORIGIN) :].split("?")[0]
        if path == "/":
            return route.fulfill(body="<!doctype html><title>bench</title>", content_type="text/html")
        local = files.get(path) or STATIC / path.removeprefix("/static/")
        route.fulfill(body=local.read_bytes(), content_type=TYPES.get(local.suffix, "application/octet-stream"))

    rgba = cv2.cvtColor(frame(), cv2.COLOR_BGR2RGBA)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.route(f"{ORIGIN}/**", serve)
        page.goto(f"{ORIGIN}/")
        for script in SCRIPTS:
            page.add_script_tag(url=f"{ORIGIN}/static/{script}")
        if args.throttle != 1:
            page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
        page.evaluate(
            """async ([config, b64]) => {
            ort.env.wasm.wasmPaths = '/static/vendor/onnxruntime-web/';
            ort.env.wasm.numThreads = 1;
            const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
            const det = await ort.InferenceSession.create(await get('/detector.onnx'));
            const cls = await ort.InferenceSession.create(await get('/model.onnx'));
            window.engine = new EmolensDevice.Engine(config, det, cls);
            const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            window.img = {data, width: 640, height: 480, channels: 4};
            for (let i = 0; i < 2; i++) await engine.process(img);  // warm-up
        }""",
            [config, base64.b64encode(rgba.tobytes()).decode()],
        )
        frame_js = """async () => { const t = performance.now(); const n = (await engine.process(img)).faces.length;
            return [performance.now() - t, n]; }"""
        detect_js = """async () => { const t = performance.now();
            await EmolensDevice.detectFaces(ort, engine.detector, img, engine.config.detector);
            return performance.now() - t; }"""
        stream, bgr = native_stream(analyzer, frame())
        wasm, det, native, faces = 0.0, 0.0, 0.0, 0
        for i in range(args.frames):  # interleaved, so both see the same load on a shared machine
            ms, faces = page.evaluate(frame_js)
            wasm += ms
            det += page.evaluate(detect_js)
            t = time.perf_counter()
            stream.process(bgr, i + 2, 0.0)
            native += (time.perf_counter() - t) * 1000
        out = {"frameMs": wasm / args.frames, "detectMs": det / args.frames, "faces": faces}
        native /= args.frames
        browser.close()
    per_face = (out["frameMs"] - out["detectMs"]) / max(1, out["faces"])
    result = {
        "model": args.model,
        "throttle": args.throttle,
        "faces": out["faces"],
        "ms_per_frame": round(out["frameMs"], 1),
        "fps": round(1000 / out["frameMs"], 2),
        "detector_ms": round(out["detectMs"], 1),
        "classifier_ms_per_face": round(per_face, 1),
        "native_ms_per_frame": round(native, 1),
        "wasm_over_native": round(out["frameMs"] / native, 2),
        "download_bytes": config["total_bytes"],
        "cpu": machine.describe(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

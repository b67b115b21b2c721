"""The installable web app: GET /manifest.webmanifest and GET /sw.js (the service worker, scope /).

The worker's script is static/js/sw.js with a version and its precache list put in front. The version
changes with emolens's and with any static file (size, time), so browsers cache a new release (or an edited
file) anew and drop the old cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from emolens import __version__

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parents[1] / "static"
LAZY = (".wasm",)  # cached the first time a page runs on the device, not at install (14 MB)
MANIFEST = {
    "name": "emolens: facial expressions, read on your device",
    "short_name": "emolens",
    "description": "Live camera, mood journal and counter camera; the models can run in this browser, offline.",
    "start_url": "/live",
    "scope": "/",
    "display": "standalone",
    "background_color": "#f6f7f9",
    "theme_color": "#10233a",
    "icons": [
        {"src": "/static/img/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any maskable"},
        {"src": "/static/img/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
        {"src": "/static/img/favicon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}


def precache(vendor: dict[str, Path]) -> list[str]:
    """URLs the worker stores at install: every static file but the WASM build, and the vendored plotly."""
    files = sorted(p for p in STATIC.rglob("*") if p.is_file() and p.suffix not in LAZY and p.name != "sw.js")
    urls = [f"/static/{p.relative_to(STATIC).as_posix()}" for p in files]
    return urls + [f"/vendor/{name}" for name in sorted(vendor) if name == "plotly.min.js"]


def cache_version(vendor: dict[str, Path]) -> str:
    """emolens's version and a digest of every static file's name, size and time."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted([*STATIC.rglob("*"), *vendor.values()]):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"{__version__}-{digest.hexdigest()[:12]}"


@router.get("/manifest.webmanifest")
def manifest() -> JSONResponse:
    return JSONResponse(MANIFEST, media_type="application/manifest+json")


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    vendor = request.app.state.vendor
    head = f"const VERSION = {json.dumps(cache_version(vendor))};\nconst PRECACHE = {json.dumps(precache(vendor))};\n"
    return Response(
        head + (STATIC / "js" / "sw.js").read_text(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )

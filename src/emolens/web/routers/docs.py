"""/docs (Swagger UI) and /vendor/* third-party assets, served from installed packages, never a CDN.

plotly.min.js comes from the plotly wheel, Swagger UI from swagger-ui-py's static folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # locates without importing the package
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def vendor_files() -> dict[str, Path]:
    """Asset name -> file in an installed package (names whose package is missing are left out)."""
    out: dict[str, Path] = {}
    plotly = _package_dir("plotly")
    if plotly and (plotly / "package_data" / "plotly.min.js").is_file():
        out["plotly.min.js"] = plotly / "package_data" / "plotly.min.js"
    swagger = _package_dir("swagger_ui")
    for name in SWAGGER_FILES:
        if swagger and (swagger / "static" / name).is_file():
            out[name] = swagger / "static" / name
    return out


@router.get("/vendor/{name}", name="vendor")
def vendor(name: str, request: Request) -> FileResponse:
    path = request.app.state.vendor.get(name)
    if path is None:
        raise HTTPException(404, f"no vendored asset {name!r} (is its package installed? pip install emolens)")
    media = "text/javascript" if name.endswith(".js") else None
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    if not all(name in request.app.state.vendor for name in SWAGGER_FILES):
        return HTMLResponse(
            "<h1>API docs</h1><p>Swagger UI needs the swagger-ui-py package "
            "(<code>pip install swagger-ui-py</code>); the schema is at "
            f"<a href='{request.app.openapi_url}'>{request.app.openapi_url}</a>.</p>"
        )
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API docs",
        swagger_js_url=str(request.url_for("vendor", name="swagger-ui-bundle.js").path),
        swagger_css_url=str(request.url_for("vendor", name="swagger-ui.css").path),
        swagger_favicon_url=str(request.url_for("vendor", name="favicon-32x32.png").path),
    )

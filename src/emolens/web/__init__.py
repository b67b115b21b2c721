"""The emolens web app: REST API under /api/v1 and pages for photos, live camera and videos.

    from emolens.web import Settings, create_app
    app = create_app(Settings(model="path/to/model"))

Importing this package is cheap: FastAPI and the engine load when an app is built.
"""

from __future__ import annotations

__all__ = ["Settings", "create_app"]

_LAZY = {"Settings": "emolens.web.settings", "create_app": "emolens.web.app"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emolens.web' has no attribute {name!r}")

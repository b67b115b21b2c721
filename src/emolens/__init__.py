"""emolens: facial emotion recognition, from training to apps.

Importing the package is cheap and torch-free; heavy parts load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Analyzer", "Face", "__version__"]

# Public names served lazily (PEP 562), so `import emolens` loads neither
# onnxruntime nor OpenCV until one of them is used.
_LAZY = {"Analyzer": "emolens.inference.analyzer", "Face": "emolens.core.results"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emolens' has no attribute {name!r}")

"""emolens: facial emotion recognition, from training to apps.

Importing the package is cheap and torch-free; heavy parts load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

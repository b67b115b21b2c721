"""Dataset readers (numpy + OpenCV only): FER2013 zip/folder/csv and generic class folders."""

from emolens.datasets.readers import LAYOUTS, detect_layout, read_dataset
from emolens.datasets.types import DataError, Split

__all__ = ["DataError", "Split", "LAYOUTS", "detect_layout", "read_dataset"]

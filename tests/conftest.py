"""Fixtures that generate small datasets in every layout the readers support."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen import write_class_tree, write_fer_csv, zip_tree


@pytest.fixture
def kaggle_dir(tmp_path: Path) -> Path:
    return write_class_tree(tmp_path / "fer", per_class=4)


@pytest.fixture
def kaggle_zip(tmp_path: Path) -> Path:
    tree = write_class_tree(tmp_path / "tree", per_class=4)
    return zip_tree(tree, tmp_path / "fer2013.zip", wrapper="fer2013/")


@pytest.fixture
def fer_csv(tmp_path: Path) -> Path:
    return write_fer_csv(tmp_path / "fer2013.csv", per_class=3)


@pytest.fixture
def train_data(tmp_path: Path) -> Path:
    """~100 training images + 35 validation images, Kaggle folder layout."""
    root = write_class_tree(tmp_path / "small", per_class=15, splits=("train",))
    return write_class_tree(root, per_class=5, splits=("test",))


def pytest_collection_modifyitems(config, items):
    """Slow tests first (stable order otherwise): with `-n 2` the long ones overlap the many short ones
    instead of leaving one worker alone at the end. Order only; no test depends on another."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

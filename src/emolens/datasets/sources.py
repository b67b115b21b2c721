"""A file tree read the same way from a folder or directly from a .zip (no unpacking)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from emolens.datasets.types import DataError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm"}


class Tree:
    """Relative POSIX paths of image files, and their bytes."""

    def __init__(self, root: Path):
        self.root = root
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if root.is_file():
            try:
                self._zip = zipfile.ZipFile(root)
            except zipfile.BadZipFile:
                raise DataError(f"{root} is not a readable zip archive") from None
            names = [n for n in self._zip.namelist() if not n.endswith("/")]
            self._prefix = _common_wrapper(names)
            self._names = sorted(n for n in names if _is_image(n) and not _hidden(n))
        elif root.is_dir():
            self._names = sorted(
                p.relative_to(root).as_posix()
                for p in root.rglob("*")
                if p.is_file() and _is_image(p.name) and not _hidden(p.relative_to(root).as_posix())
            )
        else:
            raise DataError(f"dataset path {root} does not exist")

    def files(self) -> list[str]:
        """Image paths relative to the dataset root (a zip's wrapper folder stripped)."""
        return [n[len(self._prefix) :] for n in self._names]

    def dirs(self, under: str = "") -> list[str]:
        """Immediate sub-folder names below `under` that contain images somewhere."""
        under = under.strip("/")
        depth = len(PurePosixPath(under).parts) if under else 0
        out = set()
        for rel in self.files():
            parts = PurePosixPath(rel).parts
            if len(parts) > depth + 1 and (not under or "/".join(parts[:depth]) == under):
                out.add(parts[depth])
        if self._zip is None and under and (self.root / under).is_dir():
            out.update(p.name for p in (self.root / under).iterdir() if p.is_dir() and not p.name.startswith("."))
        return sorted(out)

    def read(self, rel: str) -> bytes:
        if self._zip is not None:
            try:
                return self._zip.read(self._prefix + rel)
            except (KeyError, zipfile.BadZipFile, OSError) as exc:
                raise DataError(f"cannot read {rel} from {self.root}: {exc}") from None
        try:
            return (self.root / rel).read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read {self.root / rel}: {exc}") from None

    def display(self, rel: str) -> str:
        return f"{self.root}:{rel}" if self._zip is not None else str(self.root / rel)

    def __iter__(self) -> Iterator[str]:
        return iter(self.files())


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTS


def _hidden(rel: str) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(rel).parts)


def _common_wrapper(names: list[str]) -> str:
    """'fer2013/' when every entry sits in one top folder that is not a split name."""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(tops) == 1 and all("/" in n for n in names):
        top = tops.pop()
        if top.lower() not in SPLIT_DIRS:
            return top + "/"
    return ""


SPLIT_DIRS = {
    "train": "train",
    "training": "train",
    "test": "test",
    "val": "test",
    "valid": "test",
    "validation": "test",
    "publictest": "test",
    "private": "private",
    "privatetest": "private",
}

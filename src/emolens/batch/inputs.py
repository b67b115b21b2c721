"""What a batch job reads: SOURCE arguments (folders, list files, globs, files) -> photos and videos.

Each input is an absolute path (the key a rerun uses to skip what is done), found once even
when two sources name it. Folders are searched recursively; a text file (.txt, .lst, .list)
lists one path per line (relative to the list's folder; lines starting with `#` are comments); `-` reads
such a list from standard input; a source with * ? or [ that is not a file is a glob
(`**` crosses folders). Inputs are cut into partitions: one video, or up to N photos.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emolens.inference.containers import SNIFF_BYTES, VideoFormatError, sniff_video
from emolens.inference.images import IMAGE_SUFFIXES

VIDEO_SUFFIXES = (
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".ts",
    ".m2ts",
    ".ogv",
    ".wmv",
)
LIST_SUFFIXES = (".txt", ".lst", ".list")
KINDS = ("photo", "video", "session")


@dataclass(frozen=True)
class Item:
    """One input of a job. key: what the output knows it by (the path; a session's id for sessions)."""

    path: str
    kind: str  # photo | video | session
    key: str
    meta: dict[str, str] = field(default_factory=dict)  # a session's location, agent, started_at ...

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict) -> Item:
        return cls(path=d["path"], kind=d["kind"], key=d["key"], meta=dict(d.get("meta") or {}))


def kind_of(path: Path) -> str:
    """photo or video, by suffix; an unknown suffix is a video when its first bytes are a video container."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "photo"
    try:
        with open(path, "rb") as fh:
            sniff_video(fh.read(SNIFF_BYTES), str(path))
        return "video"
    except (OSError, VideoFormatError):
        return "photo"  # the photo intake names what is wrong with it in the error row


def _media(folder: Path) -> list[Path]:
    wanted = IMAGE_SUFFIXES + VIDEO_SUFFIXES
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in wanted)


def _listed(lines: Iterable[str], base: Path) -> list[Path]:
    out = []
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            path = Path(text).expanduser()
            out.append(path if path.is_absolute() else base / path)
    return out


def expand(source: str) -> tuple[list[Path], str | None]:
    """One SOURCE -> (files, None) or ([], why it gave nothing)."""
    if source == "-":
        files = _listed(sys.stdin.read().splitlines(), Path.cwd())
        return (files, None) if files else ([], "no paths on standard input")
    path = Path(source).expanduser()
    if path.is_dir():
        files = _media(path)
        return (files, None) if files else ([], "no photos or videos in this folder")
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        files = _listed(path.read_text(encoding="utf-8", errors="replace").splitlines(), path.parent)
        return (files, None) if files else ([], "this list names no file")
    if path.exists():
        return [path], None
    if any(c in source for c in "*?["):
        matches = sorted(Path(m) for m in glob.glob(os.path.expanduser(source), recursive=True))
        files = [m for m in matches if m.is_file()]
        return (files, None) if files else ([], "no file matches this pattern")
    return [], "no such file or folder"


def find_inputs(sources: Sequence[str]) -> tuple[list[Item], list[tuple[str, str]]]:
    """SOURCE arguments -> (inputs in the order given, each once; [(source, problem)])."""
    items: dict[str, Item] = {}
    problems = []
    for source in sources:
        files, problem = expand(source)
        if problem:
            problems.append((source, problem))
        for f in files:
            key = os.path.abspath(f)
            if key not in items:
                items[key] = Item(path=key, kind=kind_of(Path(key)) if Path(key).is_file() else "photo", key=key)
    return list(items.values()), problems


def partitions(items: Sequence[Item], photos_per_task: int = 16) -> list[list[Item]]:
    """The units of work: each video alone (its tracker keeps state), photos in groups. Videos come first so
    the long tasks start early and the photos fill the gaps."""
    if photos_per_task < 1:
        raise ValueError(f"photos per task must be at least 1, got {photos_per_task}")
    long = [[i] for i in items if i.kind != "photo"]
    photos = [i for i in items if i.kind == "photo"]
    return long + [photos[k : k + photos_per_task] for k in range(0, len(photos), photos_per_task)]

"""The analysis of one partition (one video, or a group of photos), in whatever process runs it.

`Worker` holds one worker's engines (built once, then reused for every partition it is given)
and turns inputs into a `PartResult`: rows, video summaries, scored sessions. Any failure of
one input becomes an error row naming it: a bad file never fails the job.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emolens.batch.inputs import Item
from emolens.batch.rows import error_row, frame_rows, no_face_row, photo_rows
from emolens.batch.spec import Engines, WorkSpec
from emolens.inference.stream import FrameResult, StreamAnalyzer
from emolens.inference.video import VideoSource, frame_limit, run_video

log = logging.getLogger(__name__)

CHAOS_ENV = "EMOLENS_BATCH_CHAOS"  # a folder: the first worker to finish an item there kills itself (tests)


@dataclass
class PartResult:
    """What a partition gave: its inputs' keys, rows, video summaries and scored sessions (key, analysis)."""

    part: str
    keys: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    videos: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[tuple[Item, Any, str | None]] = field(default_factory=list)  # (item, analysis, error)

    @property
    def errors(self) -> int:
        return sum(r["status"] == "error" for r in self.rows) + sum(e is not None for _, _, e in self.sessions)


def part_id(items: list[Item]) -> str:
    """A partition's name: the same inputs always give the same name (a retried part replaces itself)."""
    return hashlib.sha1("\n".join(sorted(i.key for i in items)).encode()).hexdigest()[:20]


class _Rows:
    """A video sink keeping each frame's face rows (numbers only, never the frame)."""

    def __init__(self, source: str, labels: tuple[str, ...]):
        self.source, self.labels = source, labels
        self.rows: list[dict[str, Any]] = []
        self.size = (0, 0)

    def write(self, frame: np.ndarray, result: FrameResult) -> bool:
        self.size = (frame.shape[1], frame.shape[0])
        self.rows += frame_rows(
            self.source, result.index, result.time, result.detected, result.faces, self.size, self.labels
        )
        return True

    def close(self) -> None:
        pass


class Worker:
    """One worker: its engines, and the analysis of the partitions it is handed."""

    def __init__(self, spec: WorkSpec, *, remote: bool = False):
        self.spec = spec
        self.engines = Engines(spec)
        self.remote = remote  # in a pool process or a Ray actor (never the driver): fault injection may act

    def run(self, items: list[Item]) -> PartResult:
        result = PartResult(part_id(items), [i.key for i in items])
        for item in items:
            try:
                if item.kind == "photo":
                    result.rows += self._photo(item)
                elif item.kind == "video":
                    rows, summary = self._video(item)
                    result.rows += rows
                    result.videos.append(summary)
                else:
                    result.sessions.append((item, self._session(item), None))
            except Exception as exc:  # noqa: BLE001 - any failure of one input is that input's error row
                message = str(exc) or type(exc).__name__
                log.info("%s", message)
                if item.kind == "session":
                    result.sessions.append((item, None, message))
                else:
                    result.rows.append(error_row(item.key, item.kind, message, self.engines.labels))
                    if item.kind == "video":
                        result.videos.append({"source": item.key, "error": message})
            if self.remote:
                _chaos()
        return result

    def _photo(self, item: Item) -> list[dict[str, Any]]:
        analyzer = self.engines.analyzer("photo")
        image = analyzer.load(Path(item.path))
        faces = analyzer.classify([image], [analyzer.detect(image)])[0]
        return photo_rows(item.key, faces, (image.shape[1], image.shape[0]), analyzer.labels)

    def _open(self, item: Item) -> tuple[VideoSource, StreamAnalyzer, int | None]:
        source = VideoSource(item.path, max_pixels=int(self.spec.max_megapixels * 1e6), limit_name="--max-megapixels")
        max_seconds = self.spec.max_seconds
        limit = frame_limit(source.info.fps, max_seconds) if max_seconds else None
        return source, StreamAnalyzer(self.engines.analyzer("video"), self.spec.stream_options()), limit

    def _video(self, item: Item) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every frame's rows and the summary of `emolens video --summary`, decoded here (never elsewhere)."""
        analyzer = self.engines.analyzer("video")
        source, stream, limit = self._open(item)
        with source:
            sink = _Rows(item.key, analyzer.labels)
            summary = run_video(source, stream, [sink], max_frames=limit)
            info = source.info
        rows = sink.rows or [no_face_row(item.key, "video", info.width, info.height, analyzer.labels)]
        doc = {
            "source": item.key,
            "error": None,
            "video": info.to_dict(),
            "model": analyzer.describe(),
            "options": self.spec.stream_options().to_dict(),
            **summary.to_dict(),
        }
        return rows, doc

    def _session(self, item: Item) -> Any:
        """A service session scored as `emolens session analyze` scores one (nothing stored here)."""
        from emolens.apps.satisfaction.customer import CustomerRule
        from emolens.apps.satisfaction.video import Scoring, score_video

        scoring = Scoring(CustomerRule.from_text(**dict(self.spec.session_rule)))
        source, stream, limit = self._open(item)
        with source:
            analysis, _ = score_video(
                lambda rec: run_video(source, stream, [rec], max_frames=limit), stream.analyzer.labels, scoring
            )
        return analysis


def _chaos() -> None:
    """Fault injection for the resilience tests: with EMOLENS_BATCH_CHAOS=DIR set, the first worker process to
    get here claims DIR/killed and dies at once (SIGKILL), losing the partition it was working on."""
    folder = os.environ.get(CHAOS_ENV)
    if not folder:
        return
    try:
        fd = os.open(os.path.join(folder, "killed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except OSError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)

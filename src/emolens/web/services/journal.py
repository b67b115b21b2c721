"""Journal check-ins from uploads: check and decode them, then the journal's own use case (apps.journal.checkin)
does the rest. Plain Python (no FastAPI)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emolens.apps.db import Database
from emolens.apps.journal import store
from emolens.apps.journal.checkin import baseline_from_images, checkin_from_images
from emolens.web.services.engine import Engine
from emolens.web.services.media import InvalidMedia, check_image_type, check_size
from emolens.web.services.photo import PhotoIntake

MAX_FRAMES = 20  # a few seconds of camera frames, or a few calibration photos


@dataclass(frozen=True)
class Upload:
    data: bytes
    name: str
    content_type: str | None


def check_uploads(uploads: Sequence[Upload], *, max_bytes: int) -> None:
    if not uploads:
        raise InvalidMedia("no image: send a photo as the multipart field 'image', or camera frames as 'frames'")
    if len(uploads) > MAX_FRAMES:
        raise InvalidMedia(f"{len(uploads)} frames: send at most {MAX_FRAMES} (a few seconds at 3-4 frames/s)")
    for u in uploads:
        check_image_type(u.content_type, u.name)
        check_size(len(u.data), max_bytes, "image")


def decode(intake: PhotoIntake, uploads: Sequence[Upload]) -> list[np.ndarray]:
    """Every upload decoded (through the intake's limits) before any is analysed."""
    return [intake.decode(u.data, name=u.name) for u in uploads]


def checkin_from_uploads(
    db: Database,
    engine: Engine,
    intake: PhotoIntake,
    user_id: int,
    uploads: Sequence[Upload],
    *,
    note: str = "",
    tags: str | Iterable[str] | None = None,
    tz_offset_minutes: int | None = None,
    keep_image: bool = False,
    data_dir: Path | None = None,
    idempotency_key: str | None = None,
    contribute: bool = False,
) -> tuple[store.CheckIn, str | None]:
    """apps.journal.checkin.checkin_from_images on the decoded uploads, with the server's analyser (its model's
    sha256 is stored with the reading; its crop function makes a contributed 48x48 crop)."""
    return checkin_from_images(
        db,
        engine.analyzer.analyze,
        user_id,
        decode(intake, uploads),
        note=note,
        tags=tags,
        tz_offset_minutes=tz_offset_minutes,
        keep_image=keep_image,
        data_dir=data_dir,
        idempotency_key=idempotency_key,
        model_sha256=engine.sha256,
        contribute=contribute,
        crop=engine.analyzer.model_crop,
    )


def baseline_from_uploads(
    db: Database, engine: Engine, intake: PhotoIntake, user_id: int, uploads: Sequence[Upload]
) -> tuple[store.Baseline, str | None]:
    """apps.journal.checkin.baseline_from_images on the decoded uploads, with the server's analyser."""
    return baseline_from_images(
        db, engine.analyzer.analyze, user_id, decode(intake, uploads), model_sha256=engine.sha256
    )

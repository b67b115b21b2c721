"""Check-ins and baselines from pictures: read the face in each, aggregate, store. The one use case behind
`POST /api/v1/journal/checkins` and `emolens journal checkin` (and calibrate / the baseline).

The caller decodes the pictures and passes its analyser as a callable (image -> faces), so the
journal never imports the runtime. The user's face is the largest in each picture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from emolens.apps.db import Database
from emolens.apps.journal import store
from emolens.apps.journal.images import private_jpeg
from emolens.apps.journal.readings import device_reading, reading_from_frames, user_face
from emolens.core.results import Face

Analyse = Callable[[np.ndarray], Sequence[Face]]  # a decoded BGR picture -> the faces in it


def checkin_from_images(
    db: Database,
    analyse: Analyse,
    user_id: int,
    images: Sequence[np.ndarray],
    *,
    note: str = "",
    tags: str | Iterable[str] | None = None,
    tz_offset_minutes: int | None = None,
    keep_image: bool = False,
    data_dir: Path | None = None,
    idempotency_key: str | None = None,
) -> tuple[store.CheckIn, str | None]:
    """One photo (source 'photo') or several camera frames (source 'camera') -> one stored check-in, and a
    notice when other faces were in the picture ("6 faces found, used the largest").

    Only numbers are stored; with keep_image the photo (or the middle camera frame with a
    face) is kept as a re-encoded JPEG without metadata. NoFaceFound when no picture has a face.
    """
    faces = [list(analyse(img)) for img in images]
    reading = reading_from_frames(faces)
    jpeg = None
    if keep_image:
        with_face = [img for img, f in zip(images, faces) if user_face(f) is not None]
        jpeg = private_jpeg(with_face[len(with_face) // 2])
    checkin = store.add_checkin(
        db,
        user_id,
        reading,
        source="photo" if len(images) == 1 else "camera",
        note=note,
        tags=tags,
        tz_offset_minutes=tz_offset_minutes,
        image_jpeg=jpeg,
        data_dir=data_dir,
        idempotency_key=idempotency_key,
    )
    return checkin, reading.notice


def checkin_from_shares(
    db: Database,
    user_id: int,
    shares: Mapping[str, float],
    *,
    confidence: float,
    frames: int,
    total_frames: int | None = None,
    most_faces: int = 1,
    note: str = "",
    tags: str | Iterable[str] | None = None,
    tz_offset_minutes: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[store.CheckIn, str | None]:
    """A camera check-in read on the user's device (source 'device'): only its numbers arrive, never a frame.
    Stored like a camera check-in (the baseline applies); JournalError for numbers that are no reading."""
    try:
        reading = device_reading(shares, confidence, frames, total_frames, most_faces)
    except ValueError as exc:
        raise store.JournalError(str(exc)) from None
    checkin = store.add_checkin(
        db,
        user_id,
        reading,
        source="device",
        note=note,
        tags=tags,
        tz_offset_minutes=tz_offset_minutes,
        idempotency_key=idempotency_key,
    )
    return checkin, reading.notice


def baseline_from_shares(
    db: Database,
    user_id: int,
    shares: Mapping[str, float],
    *,
    confidence: float,
    frames: int,
    total_frames: int | None = None,
    most_faces: int = 1,
) -> tuple[store.Baseline, str | None]:
    """Calibration read on the user's device: the relaxed face's shares become the baseline (JournalError
    for numbers that are no reading)."""
    try:
        reading = device_reading(shares, confidence, frames, total_frames, most_faces)
    except ValueError as exc:
        raise store.JournalError(str(exc)) from None
    return store.save_baseline(db, user_id, reading), reading.notice


def baseline_from_images(
    db: Database, analyse: Analyse, user_id: int, images: Sequence[np.ndarray]
) -> tuple[store.Baseline, str | None]:
    """A relaxed face in a few photos or frames -> the user's baseline (nothing else is stored), and a
    notice when other faces were in the picture. NoFaceFound when no picture has a face."""
    reading = reading_from_frames([list(analyse(img)) for img in images])
    return store.save_baseline(db, user_id, reading), reading.notice

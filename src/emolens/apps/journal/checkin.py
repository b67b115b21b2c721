"""The journal's use cases, shared by the web and the CLI: check-ins and baselines from pictures (read the face
in each, aggregate, store), and the edits after which the personal adaptation is fitted again.

The caller decodes the pictures and passes its analyser as a callable (image -> faces), and, for a
contributed crop, a callable (image, face) -> the 48x48 gray crop the model read; so the journal
never imports the runtime. The user's face is the largest in each picture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from emolens.apps.db import Database
from emolens.apps.journal import contributions, personal, store
from emolens.apps.journal.images import private_jpeg
from emolens.apps.journal.readings import device_reading, reading_from_frames, user_face
from emolens.core.results import Face

Analyse = Callable[[np.ndarray], Sequence[Face]]  # a decoded BGR picture -> the faces in it
Crop = Callable[[np.ndarray, Face], np.ndarray]  # a picture and a face in it -> its 48x48 gray model-input crop


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
    model_sha256: str | None = None,
    contribute: bool = False,
    crop: Crop | None = None,
) -> tuple[store.CheckIn, str | None]:
    """One photo (source 'photo') or several camera frames (source 'camera') -> one stored check-in, and a
    notice when other faces were in the picture ("6 faces found, used the largest").

    Only numbers are stored (and the model's sha256); with keep_image the photo (or the middle camera
    frame with a face) is kept as a re-encoded JPEG without metadata; with contribute, that frame's
    48x48 gray face crop (made by `crop`), never the photo. NoFaceFound when no picture has a face.
    """
    faces = [list(analyse(img)) for img in images]
    reading = reading_from_frames(faces)
    with_face = [(img, face) for img, f in zip(images, faces) if (face := user_face(f)) is not None]
    middle_image, middle_face = with_face[len(with_face) // 2]
    jpeg = private_jpeg(middle_image) if keep_image else None
    pixels = None
    if contribute:
        if crop is None:
            raise store.JournalError("contributing a face crop needs the runtime's crop function")
        pixels = contributions.pixels(crop(middle_image, middle_face))
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
        model_sha256=model_sha256,
        contribution=pixels,
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
    db: Database, analyse: Analyse, user_id: int, images: Sequence[np.ndarray], *, model_sha256: str | None = None
) -> tuple[store.Baseline, str | None]:
    """A relaxed face in a few photos or frames -> the user's baseline (nothing else is stored), and a
    notice when other faces were in the picture. NoFaceFound when no picture has a face."""
    reading = reading_from_frames([list(analyse(img)) for img in images])
    baseline = store.save_baseline(db, user_id, reading, model_sha256)
    personal.refit(db, user_id)  # the resting face is the adaptation's neutral anchor
    return baseline, reading.notice


def edit_checkin(db: Database, user_id: int, checkin_id: int, **changes: object) -> store.CheckIn | None:
    """Correct the emotion, change the note or tags (store.update_checkin); a correction refits the personal
    adaptation. None when the check-in is not the user's."""
    checkin = store.update_checkin(db, user_id, checkin_id, **changes)  # type: ignore[arg-type]
    if checkin is not None and "corrected" in changes:
        personal.refit(db, user_id)
    return checkin


def delete_checkin(db: Database, user_id: int, checkin_id: int, *, data_dir: Path | None = None) -> bool:
    """Delete a check-in, its kept photo and contributed crop; a corrected one no longer teaches the adaptation."""
    before = store.get_checkin(db, user_id, checkin_id)
    if not store.delete_checkin(db, user_id, checkin_id, data_dir=data_dir):
        return False
    if before is not None and before.contributed:
        db.checkpoint()  # the crop's pixels leave the WAL file too
    if before is not None and before.corrected:
        personal.refit(db, user_id)
    return True


def delete_baseline(db: Database, user_id: int) -> bool:
    """Forget the resting face; the adaptation loses its neutral anchor."""
    deleted = store.delete_baseline(db, user_id)
    if deleted:
        personal.refit(db, user_id)
    return deleted

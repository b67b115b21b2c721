"""Journal check-ins from uploads: decode, analyse, aggregate, store. Plain Python (no FastAPI)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emolens.apps.db import Database
from emolens.apps.journal import store
from emolens.apps.journal.images import private_jpeg
from emolens.apps.journal.readings import reading_from_frames, user_face
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


def analyse(engine: Engine, intake: PhotoIntake, uploads: Sequence[Upload]):
    """Decoded images and the faces in each (the frames with one: the user's face is the largest)."""
    images = [intake.decode(u.data, name=u.name) for u in uploads]
    return images, [engine.analyzer.analyze(img) for img in images]


def checkin_from_uploads(db: Database, engine: Engine, intake: PhotoIntake, user_id: int, uploads: Sequence[Upload],
                         *, note: str = "", tags=None, tz_offset_minutes: int | None = None, keep_image: bool = False,
                         data_dir: Path | None = None,
                         idempotency_key: str | None = None) -> tuple[store.CheckIn, str | None]:
    """One photo (source 'photo') or several camera frames (source 'camera') -> one stored check-in, and a
    notice when other faces were in the picture ("6 faces found, used the largest").

    Only numbers are stored; with keep_image the photo (or the middle camera frame with a
    face) is kept as a re-encoded JPEG without metadata.
    """
    images, faces = analyse(engine, intake, uploads)
    reading = reading_from_frames(faces)
    jpeg = None
    if keep_image:
        with_face = [img for img, f in zip(images, faces) if user_face(f) is not None]
        jpeg = private_jpeg(with_face[len(with_face) // 2])
    checkin = store.add_checkin(db, user_id, reading, source="photo" if len(uploads) == 1 else "camera", note=note,
                                tags=tags, tz_offset_minutes=tz_offset_minutes, image_jpeg=jpeg, data_dir=data_dir,
                                idempotency_key=idempotency_key)
    return checkin, reading.notice


def baseline_from_uploads(db: Database, engine: Engine, intake: PhotoIntake, user_id: int,
                          uploads: Sequence[Upload]) -> tuple[store.Baseline, str | None]:
    """A relaxed face in a few photos or frames -> the user's baseline (nothing else is stored), and a
    notice when other faces were in the picture."""
    _, faces = analyse(engine, intake, uploads)
    reading = reading_from_frames(faces)
    return store.save_baseline(db, user_id, reading), reading.notice

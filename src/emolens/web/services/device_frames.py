"""The numbers a browser sends for one frame it read itself ("on this device"): checked, then made `Face`s.

The counter camera in device mode sends {"type": "faces", "width", "height", "faces": [...]} (the API's face
JSON) instead of a JPEG; the session records these exactly as it records the faces the server finds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from emolens.core.results import Face, Quality
from emolens.web.schemas import FaceOut

MAX_FACES = 64
MAX_SIDE = 10_000


class DeviceFrameError(ValueError):
    """Numbers that cannot be one frame's faces; the message says what is wrong."""


def device_faces(message: dict[str, Any], labels: Sequence[str]) -> tuple[list[Face], int, int]:
    """A "faces" message -> (faces, width, height); DeviceFrameError when it is not one."""
    width, height, raw = message.get("width"), message.get("height"), message.get("faces")
    if not all(isinstance(v, int) and 0 < v <= MAX_SIDE for v in (width, height)):
        raise DeviceFrameError(f"width and height must be whole pixels, 1 to {MAX_SIDE}")
    if not isinstance(raw, list) or len(raw) > MAX_FACES:
        raise DeviceFrameError(f"faces must be a list of at most {MAX_FACES} faces")
    try:
        faces = [FaceOut.model_validate(f) for f in raw]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise DeviceFrameError(f"a face is malformed ({where}: {first.get('msg')})") from None
    return [_face(f, labels) for f in faces], width, height


def _face(f: FaceOut, labels: Sequence[str]) -> Face:
    if sorted(f.probabilities) != sorted(labels):
        raise DeviceFrameError(f"probabilities must name exactly the model's labels: {', '.join(labels)}")
    probs = [f.probabilities[k] for k in labels]
    if any(not (math.isfinite(p) and 0.0 <= p <= 1.0) for p in probs) or abs(sum(probs) - 1.0) > 0.01:
        raise DeviceFrameError("probabilities must be between 0 and 1 and sum to 1")
    if f.box.w <= 0 or f.box.h <= 0:
        raise DeviceFrameError("a face box needs a positive width and height")
    top = max(labels, key=lambda k: f.probabilities[k])
    q = f.quality
    return Face(
        box=(f.box.x, f.box.y, f.box.w, f.box.h),
        score=f.score,
        landmarks=None if f.landmarks is None else tuple((float(p[0]), float(p[1])) for p in f.landmarks),
        probabilities={k: float(f.probabilities[k]) for k in labels},
        emotion=top,
        confidence=float(f.probabilities[top]),
        uncertain=f.uncertain,
        quality=Quality(q.tiny, q.blurry, q.dark, q.sharpness, q.brightness),
        track_id=f.track_id,
    )

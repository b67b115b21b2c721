"""A small archive for the batch tests: photos with faces, one without, a video, a broken file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from helpers import astronaut_bgr, group_photo, moving_faces_video

VIDEO_FRAMES = 12


def make_archive(root: Path, photos: int = 3) -> dict[str, list[Path]]:
    """root/photos/*.jpg (faces: 1 each, the group photo 4), root/photos/empty.png (no face),
    root/videos/clip.mp4 (two moving faces), root/photos/broken.jpg (not an image)."""
    (root / "photos").mkdir(parents=True, exist_ok=True)
    (root / "videos").mkdir(exist_ok=True)
    out: dict[str, list[Path]] = {"faces": [], "empty": [], "videos": [], "broken": []}
    base = astronaut_bgr()
    for i in range(photos):
        path = root / "photos" / f"astronaut{i}.jpg"
        cv2.imwrite(str(path), cv2.resize(base, None, fx=1 - 0.1 * i, fy=1 - 0.1 * i))
        out["faces"].append(path)
    group, _ = group_photo()
    cv2.imwrite(str(root / "photos" / "group.jpg"), group)
    out["faces"].append(root / "photos" / "group.jpg")
    cv2.imwrite(str(root / "photos" / "empty.png"), np.full((120, 160, 3), 128, np.uint8))
    out["empty"].append(root / "photos" / "empty.png")
    (root / "photos" / "broken.jpg").write_bytes(b"this is not a JPEG at all" * 10)
    out["broken"].append(root / "photos" / "broken.jpg")
    out["videos"].append(moving_faces_video(root / "videos" / "clip.mp4", frames=VIDEO_FRAMES))
    return out

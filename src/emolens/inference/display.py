"""A live OpenCV window as a video sink (the `webcam` command); q or Esc closes it."""

from __future__ import annotations

import os
import sys
import time

import cv2
import numpy as np

from emolens.inference.draw import annotate
from emolens.inference.stream import FrameResult
from emolens.inference.video import VideoError

NO_GUI_HINT = (
    "record instead with `emolens video 0 --out webcam.mp4 --max-frames 300`, "
    "or install a GUI build: pip install opencv-python"
)


class Window:
    """Shows annotated frames with the measured fps; write() returns False once closed."""

    def __init__(self, title: str = "emolens (q to quit)"):
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise VideoError(f"no display to open a window on (DISPLAY is not set): {NO_GUI_HINT}")
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise VideoError(
                f"this OpenCV build has no window support (opencv-python-headless): {NO_GUI_HINT}"
            ) from None
        self.title = title
        self.fps: float | None = None
        self._last = time.monotonic()

    def write(self, frame: np.ndarray, result: FrameResult) -> bool:
        now = time.monotonic()
        inst = 1.0 / max(now - self._last, 1e-6)
        self._last = now
        self.fps = inst if self.fps is None else 0.9 * self.fps + 0.1 * inst
        cv2.imshow(self.title, annotate(frame, result.faces, fps=self.fps))
        key = cv2.waitKey(1) & 0xFF
        visible = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        return key not in (ord("q"), 27) and visible

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
        except cv2.error:
            pass

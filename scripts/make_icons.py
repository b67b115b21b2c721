"""Draw the web app's install icons (static/img/icon-192.png, icon-512.png) from the favicon's shapes.

The favicon is an SVG, which browsers accept in a manifest but app launchers often do not: installable
web apps want 192 and 512 px PNGs. OpenCV draws the same shapes as static/img/favicon.svg (a 64-unit
canvas) at 4x and shrinks them, so the edges are smooth. Full-bleed, so the icon also works when masked.

    python scripts/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src/emolens/web/static/img"
BG, ACCENT, WHITE = (58, 35, 16), (0, 169, 242), (255, 255, 255)  # BGR of #10233a, #f2a900, #ffffff


def icon(size: int) -> np.ndarray:
    s = size * 4 / 64  # pixels per favicon unit, drawn at 4x
    img = np.full((size * 4, size * 4, 3), BG, np.uint8)

    def p(x: float, y: float) -> tuple[int, int]:
        return round(x * s), round(y * s)

    x0, y0, x1, y1, r = 12, 10, 52, 54, 6  # the face frame: a rounded rectangle, 5 units wide
    w = round(5 * s)
    for a, b in ((p(x0 + r, y0), p(x1 - r, y0)), (p(x0 + r, y1), p(x1 - r, y1))):
        cv2.line(img, a, b, ACCENT, w, cv2.LINE_AA)
    for a, b in ((p(x0, y0 + r), p(x0, y1 - r)), (p(x1, y0 + r), p(x1, y1 - r))):
        cv2.line(img, a, b, ACCENT, w, cv2.LINE_AA)
    for (cx, cy), start in (
        ((x0 + r, y0 + r), 180),
        ((x1 - r, y0 + r), 270),
        ((x1 - r, y1 - r), 0),
        ((x0 + r, y1 - r), 90),
    ):
        cv2.ellipse(img, p(cx, cy), (round(r * s), round(r * s)), 0, start, start + 90, ACCENT, w, cv2.LINE_AA)
    for cx in (25, 39):  # eyes
        cv2.circle(img, p(cx, 27), round(3.5 * s), WHITE, -1, cv2.LINE_AA)
    t = np.linspace(0, 1, 40)[:, None]  # the smile: quadratic Bezier (22,38) (32,47) (42,38)
    curve = (1 - t) ** 2 * np.array([22, 38]) + 2 * (1 - t) * t * np.array([32, 47]) + t**2 * np.array([42, 38])
    cv2.polylines(img, [np.round(curve * s).astype(np.int32)], False, WHITE, round(4 * s), cv2.LINE_AA)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def main() -> None:
    for size in (192, 512):
        path = OUT / f"icon-{size}.png"
        cv2.imwrite(str(path), icon(size), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

"""Face tracks across video frames: stable ids, motion between detections, EMA smoothing.

Matching is greedy on IoU, then on centre distance for fast movers; between
detection frames a track moves at its last measured velocity (constant-velocity
prediction), which is enough at `--every 2..5` for people on camera. A face that leaves
(out of the frame, turned away, hidden) keeps its id for `reentry` frames: a new face
near where it was last seen, of about its size, gets the old id (and its smoothing) back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emolens.inference.detectors.base import Detection


@dataclass
class Track:
    """One face over time. anchor is its last real detection, at frame anchor_frame."""

    id: int
    anchor: Detection
    anchor_frame: int
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per frame
    probs: np.ndarray | None = None  # smoothed probabilities, card label order
    missed: int = 0  # detection rounds in a row without a match
    hits: int = 1
    lost_frame: int | None = None  # the frame it was retired at, while it may still come back

    def at(self, frame: int) -> Detection:
        """Predicted detection at a frame (the anchor moved by velocity)."""
        dt = frame - self.anchor_frame
        return self.anchor.shifted(self.velocity[0] * dt, self.velocity[1] * dt) if dt else self.anchor


def _centre(d: Detection) -> tuple[float, float]:
    x, y, w, h = d.box
    return x + w / 2, y + h / 2


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Assigns stable ids to detections; smooths each track's probabilities.

    alpha is the weight of the newest probabilities in the EMA (1 = no smoothing);
    a track unmatched for more than max_missed detection rounds is retired, and its id
    kept for `reentry` frames for a face that comes back near where it left (0: never).
    """

    def __init__(self, *, iou_threshold: float = 0.3, max_missed: int = 2, alpha: float = 0.4, reentry: int = 0):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"smoothing alpha must be in (0, 1], got {alpha}")
        if reentry < 0:
            raise ValueError(f"the re-entry window must be 0 or more frames, got {reentry}")
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.alpha = alpha
        self.reentry = reentry
        self.tracks: list[Track] = []
        self.lost: list[Track] = []  # retired within the last `reentry` frames, newest last
        self._next_id = 1

    def update(self, detections: Sequence[Detection], frame: int) -> list[Track]:
        """Match a detection round; returns the track of each detection, in order."""
        pairs = self._match(detections, frame)
        assigned: list[Track | None] = [None] * len(detections)
        for ti, di in pairs:
            track, det = self.tracks[ti], detections[di]
            dt = max(1, frame - track.anchor_frame)
            (ox, oy), (nx, ny) = _centre(track.anchor), _centre(det)
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            if track.hits > 1:  # average with the previous estimate; the first one is taken as is
                vx, vy = 0.5 * (track.velocity[0] + vx), 0.5 * (track.velocity[1] + vy)
            track.velocity = (vx, vy)
            track.anchor, track.anchor_frame = det, frame
            track.missed, track.hits = 0, track.hits + 1
            assigned[di] = track
        matched = {ti for ti, _ in pairs}
        for ti, track in enumerate(self.tracks):
            if ti not in matched:
                track.missed += 1
        self._retire(frame)
        for di, det in enumerate(detections):
            if assigned[di] is None:
                track = self._returning(det, frame) or Track(id=self._take_id(), anchor=det, anchor_frame=frame)
                self.tracks.append(track)
                assigned[di] = track
        return [t for t in assigned if t is not None]

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _retire(self, frame: int) -> None:
        """Tracks missed too often leave `tracks` for `lost`; lost ones older than the window are forgotten."""
        for t in self.tracks:
            if t.missed > self.max_missed and self.reentry > 0:
                t.lost_frame = frame
                self.lost.append(t)
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        self.lost = [t for t in self.lost if t.lost_frame is not None and frame - t.lost_frame <= self.reentry]

    def _returning(self, det: Detection, frame: int) -> Track | None:
        """The lost track this new face most likely is: last seen within 1.5 face sizes of it, of a similar size."""
        best, best_dist = None, 1.5
        for t in self.lost:
            side, new_side = max(t.anchor.box[2:]), max(det.box[2:])
            if not 0.6 <= new_side / max(side, 1.0) <= 1.6:
                continue
            (ox, oy), (nx, ny) = _centre(t.anchor), _centre(det)
            dist = ((ox - nx) ** 2 + (oy - ny) ** 2) ** 0.5 / max(side, 1.0)
            if dist < best_dist:
                best, best_dist = t, dist
        if best is None:
            return None
        self.lost.remove(best)
        best.anchor, best.anchor_frame, best.velocity = det, frame, (0.0, 0.0)
        best.missed, best.lost_frame, best.hits = 0, None, best.hits + 1
        return best

    def active(self) -> list[Track]:
        """Tracks seen in the latest detection round (shown on in-between frames)."""
        return [t for t in self.tracks if t.missed == 0]

    def smooth(self, track: Track, probs: np.ndarray) -> np.ndarray:
        track.probs = probs.copy() if track.probs is None else self.alpha * probs + (1 - self.alpha) * track.probs
        return track.probs

    def _match(self, detections: Sequence[Detection], frame: int) -> list[tuple[int, int]]:
        if not self.tracks or not detections:
            return []
        predicted = [t.at(frame) for t in self.tracks]
        cand = []
        for ti, p in enumerate(predicted):
            pcx, pcy = _centre(p)
            side = max(p.box[2], p.box[3])
            for di, d in enumerate(detections):
                iou = box_iou(p.box, d.box)
                dcx, dcy = _centre(d)
                dist = ((pcx - dcx) ** 2 + (pcy - dcy) ** 2) ** 0.5 / max(side, 1.0)
                if iou >= self.iou_threshold or dist < 1.0:  # centre within one face size
                    cand.append((-iou, dist, ti, di))  # best IoU first, then nearest
        pairs, used_t, used_d = [], set(), set()
        for _, _, ti, di in sorted(cand):
            if ti not in used_t and di not in used_d:
                pairs.append((ti, di))
                used_t.add(ti)
                used_d.add(di)
        return pairs

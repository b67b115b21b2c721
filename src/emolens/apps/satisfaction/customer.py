"""Who is the customer: a documented, configurable rule over tracked faces (no identity recognition).

1. Tracks are joined into *people*: a track that starts at most `stitch_gap_s`
   after another one ended, with its first box centre within 1.5 face widths of
   where the other was lost, continues it (trackers lose a face that turns away).
2. A person already on screen in the first `staff_seconds` of the session is
   **staff** (the agent looks into the camera when starting the session; 0 = off).
   Staff faces are never scored.
3. With a region of interest `roi` (x0, y0, x1, y1 as fractions of the frame: the
   customer's side of the counter), a person whose face centre is inside it for
   less than half of their frames is not a candidate.
4. Among the remaining people with at least `min_seconds` of usable face time the
   customer is the one with the most usable face time (`pick="presence"`), or the
   largest mean face, i.e. the closest to the camera (`pick="largest"`); the other
   key breaks ties. Everyone else is "other" (passers-by, people waiting behind).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from emolens.apps.satisfaction.recording import FaceSample, Recording, frame_durations

PICKS = ("presence", "largest")
STITCH_DISTANCE = 1.5  # face widths between where a track was lost and where its continuation appears


@dataclass(frozen=True)
class CustomerRule:
    pick: str = "presence"
    roi: tuple[float, float, float, float] | None = None
    staff_seconds: float = 0.0
    min_seconds: float = 2.0
    stitch_gap_s: float = 3.0

    def __post_init__(self) -> None:
        if self.pick not in PICKS:
            raise ValueError(f"unknown customer rule pick {self.pick!r}: choose one of {', '.join(PICKS)}")
        if self.roi is not None:
            x0, y0, x1, y1 = self.roi
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise ValueError(f"roi must be x0,y0,x1,y1 fractions with x0 < x1 and y0 < y1, got {self.roi}")
        for name in ("staff_seconds", "min_seconds", "stitch_gap_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")

    @classmethod
    def from_text(cls, *, pick: str = "presence", roi: str = "", **kw: float) -> CustomerRule:
        """roi as written in settings and flags: '0.5,0,1,1' (empty: the whole frame)."""
        box = None
        if roi.strip():
            try:
                box = tuple(float(v) for v in roi.split(","))
            except ValueError:
                box = ()
            if len(box) != 4:
                raise ValueError(f"roi {roi!r}: write four fractions x0,y0,x1,y1 such as 0.5,0,1,1")
        return cls(pick=pick, roi=box, **kw)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pick": self.pick,
            "roi": list(self.roi) if self.roi else None,
            "staff_seconds": self.staff_seconds,
            "min_seconds": self.min_seconds,
            "stitch_gap_s": self.stitch_gap_s,
        }


@dataclass(frozen=True)
class TrackStats:
    """Numbers about one track (never an image): when, how long, how big, where."""

    id: int
    first: float  # s
    last: float
    seconds: float  # face time (sum of its frames' durations)
    usable_seconds: float
    mean_area: float  # fraction of the frame
    roi_share: float  # fraction of its frames with the face centre inside the roi (1 without a roi)
    first_box: tuple[float, float, float, float]
    last_box: tuple[float, float, float, float]
    person: int = 0  # tracks joined into one person share this number
    role: str = "other"  # customer | staff | other

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "person": self.person,
            "role": self.role,
            "first": round(self.first, 3),
            "last": round(self.last, 3),
            "seconds": round(self.seconds, 3),
            "usable_seconds": round(self.usable_seconds, 3),
            "mean_area": round(self.mean_area, 5),
            "roi_share": round(self.roi_share, 3),
        }


@dataclass(frozen=True)
class Selection:
    rule: CustomerRule
    tracks: tuple[TrackStats, ...]
    reason: str | None = None  # why there is no customer

    @property
    def customer(self) -> tuple[int, ...]:
        return tuple(t.id for t in self.tracks if t.role == "customer")

    @property
    def staff(self) -> tuple[int, ...]:
        return tuple(t.id for t in self.tracks if t.role == "staff")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.to_dict(),
            "customer": list(self.customer),
            "staff": list(self.staff),
            "reason": self.reason,
            "tracks": [t.to_dict() for t in self.tracks],
        }


@dataclass
class _Person:
    tracks: list[TrackStats] = field(default_factory=list)

    @property
    def first(self) -> float:
        return self.tracks[0].first

    @property
    def end(self) -> TrackStats:
        return max(self.tracks, key=lambda t: t.last)

    @property
    def usable_seconds(self) -> float:
        return sum(t.usable_seconds for t in self.tracks)

    @property
    def mean_area(self) -> float:
        total = sum(t.seconds for t in self.tracks)
        return sum(t.mean_area * t.seconds for t in self.tracks) / total if total else 0.0

    @property
    def roi_share(self) -> float:
        total = sum(t.seconds for t in self.tracks)
        return sum(t.roi_share * t.seconds for t in self.tracks) / total if total else 0.0


def track_stats(recording: Recording, roi: tuple[float, float, float, float] | None = None) -> list[TrackStats]:
    """Per-track numbers, ordered by first appearance."""
    durations = frame_durations(recording.times)
    by_track: dict[int, list[FaceSample]] = defaultdict(list)
    for face in recording.faces:
        by_track[face.track].append(face)
    out = []
    for tid, faces in by_track.items():
        d = np.array([durations[f.frame] for f in faces])
        usable = np.array([f.usable for f in faces])
        inside = [_inside(f.centre, roi) for f in faces]
        out.append(
            TrackStats(
                id=tid,
                first=recording.times[faces[0].frame],
                last=recording.times[faces[-1].frame],
                seconds=float(d.sum()),
                usable_seconds=float(d[usable].sum()),
                mean_area=float(np.mean([f.area for f in faces])),
                roi_share=float(np.mean(inside)),
                first_box=faces[0].box,
                last_box=faces[-1].box,
            )
        )
    return sorted(out, key=lambda t: (t.first, t.id))


def _inside(point: tuple[float, float], roi: tuple[float, float, float, float] | None) -> bool:
    if roi is None:
        return True
    x, y = point
    return roi[0] <= x <= roi[2] and roi[1] <= y <= roi[3]


def _continues(person: _Person, track: TrackStats, gap: float) -> float | None:
    """Distance (in face widths) when `track` can continue `person`, else None."""
    end = person.end
    if not 0 < track.first - end.last <= gap:
        return None
    ex, ey, ew, eh = end.last_box
    tx, ty, tw, th = track.first_box
    dist = float(np.hypot((ex + ew / 2) - (tx + tw / 2), (ey + eh / 2) - (ty + th / 2)))
    width = max(ew, tw, 1e-6)
    return dist / width if dist <= STITCH_DISTANCE * width else None


def group_people(tracks: Sequence[TrackStats], gap: float) -> list[_Person]:
    """Join tracks into people (step 1), greedily in order of appearance, nearest continuation first."""
    people: list[_Person] = []
    for track in tracks:
        options = [(d, i) for i, p in enumerate(people) if (d := _continues(p, track, gap)) is not None]
        if options:
            people[min(options)[1]].tracks.append(track)
        else:
            people.append(_Person([track]))
    return people


def select_customer(recording: Recording, rule: CustomerRule = CustomerRule()) -> Selection:
    """Roles for every track: the customer (maybe several tracks of one person), staff, other."""
    people = group_people(track_stats(recording, rule.roi), rule.stitch_gap_s)
    staff = {i for i, p in enumerate(people) if rule.staff_seconds > 0 and p.first < rule.staff_seconds}
    candidates = [
        i
        for i, p in enumerate(people)
        if i not in staff and p.roi_share >= 0.5 and p.usable_seconds >= rule.min_seconds
    ]
    if rule.pick == "presence":
        key = lambda i: (people[i].usable_seconds, people[i].mean_area)  # noqa: E731
    else:
        key = lambda i: (people[i].mean_area, people[i].usable_seconds)  # noqa: E731
    customer = max(candidates, key=key) if candidates else None
    tracks = []
    for i, person in enumerate(people):
        role = "customer" if i == customer else "staff" if i in staff else "other"
        tracks += [replace(t, person=i + 1, role=role) for t in person.tracks]
    reason = None if customer is not None else _no_customer(people, staff, rule)
    return Selection(rule=rule, tracks=tuple(sorted(tracks, key=lambda t: (t.first, t.id))), reason=reason)


def _no_customer(people: Sequence[_Person], staff: set[int], rule: CustomerRule) -> str:
    if not people:
        return "no face was seen during the session"
    if len(staff) == len(people):
        return f"every face seen was staff (on screen in the first {rule.staff_seconds:g} s)"
    others = [p for i, p in enumerate(people) if i not in staff]
    if rule.roi is not None and all(p.roi_share < 0.5 for p in others):
        return "no face stayed inside the customer region (roi) for at least half of its time"
    best = max(p.usable_seconds for p in others)
    return (
        f"no customer face was usable for {rule.min_seconds:g} s or more (the longest had {best:.1f} s): "
        "faces were too short, too small or too dark"
    )

"""Sessions grouped per day, ISO week, location or agent, with trends.

Only scored sessions enter the score statistics; sessions without a score are
counted (`unscored`) so a group with many of them stands out. Days and weeks are
UTC calendar days and ISO weeks of the session's start.

- `mean_score`: plain mean of the scores; `weighted_score`: confidence-weighted mean
  (sessions with little usable face time count less).
- time groups (day, week): `change` = mean score minus the previous group's.
- location / agent groups: `slope_per_week` = least-squares slope of score over
  start time, in points per week (None with fewer than two scored sessions or
  all at the same moment).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np

GROUPINGS = ("day", "week", "location", "agent")


class Scored(Protocol):
    """What aggregation reads of a session (read-only: a frozen ServiceSession is one)."""

    @property
    def started_at(self) -> str: ...  # ISO 8601 UTC, e.g. 2026-05-01T08:30:00Z

    @property
    def location(self) -> str: ...

    @property
    def agent(self) -> str: ...

    @property
    def score(self) -> float | None: ...

    @property
    def confidence(self) -> float | None: ...


@dataclass(frozen=True)
class Group:
    key: str
    sessions: int
    scored: int
    mean_score: float | None
    weighted_score: float | None
    min_score: float | None
    max_score: float | None
    mean_confidence: float | None
    first: str
    last: str
    change: float | None = None
    slope_per_week: float | None = None

    @property
    def unscored(self) -> int:
        return self.sessions - self.scored

    def to_dict(self) -> dict[str, Any]:
        r = lambda v, n=1: None if v is None else round(v, n)  # noqa: E731
        return {
            "key": self.key,
            "sessions": self.sessions,
            "scored": self.scored,
            "unscored": self.unscored,
            "mean_score": r(self.mean_score),
            "weighted_score": r(self.weighted_score),
            "min_score": r(self.min_score),
            "max_score": r(self.max_score),
            "mean_confidence": r(self.mean_confidence, 3),
            "first": self.first,
            "last": self.last,
            "change": r(self.change),
            "slope_per_week": r(self.slope_per_week, 2),
        }


def parse_time(text: str) -> datetime:
    """'2026-05-01T08:30:00Z' (or with an offset) -> aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def group_key(session: Scored, by: str) -> str:
    if by == "location":
        return session.location
    if by == "agent":
        return session.agent
    when = parse_time(session.started_at)
    if by == "day":
        return when.strftime("%Y-%m-%d")
    if by == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")


def slope_per_week(points: Sequence[tuple[datetime, float]]) -> float | None:
    """Least-squares slope of score over time, points per week."""
    if len(points) < 2:
        return None
    days = np.array([(t - points[0][0]).total_seconds() / 86400 for t, _ in points])
    if np.ptp(days) == 0:
        return None
    scores = np.array([s for _, s in points])
    return float(np.polyfit(days, scores, 1)[0] * 7)


def _group(key: str, members: Sequence[Scored], by: str) -> Group:
    scored = [s for s in members if s.score is not None]
    scores = np.array([s.score for s in scored], dtype=float)
    conf = np.array([s.confidence or 0.0 for s in scored], dtype=float)
    starts = sorted(s.started_at for s in members)
    slope = None
    if by in ("location", "agent"):
        slope = slope_per_week(sorted((parse_time(s.started_at), float(s.score or 0.0)) for s in scored))
    return Group(
        key=key,
        sessions=len(members),
        scored=len(scored),
        mean_score=float(scores.mean()) if len(scores) else None,
        weighted_score=float((scores * conf).sum() / conf.sum()) if conf.sum() > 0 else None,
        min_score=float(scores.min()) if len(scores) else None,
        max_score=float(scores.max()) if len(scores) else None,
        mean_confidence=float(conf.mean()) if len(conf) else None,
        first=starts[0],
        last=starts[-1],
        slope_per_week=slope,
    )


def overall(sessions: Sequence[Scored]) -> Group | None:
    """All sessions as one group (key 'all'); None when there are none."""
    return _group("all", sessions, "all") if sessions else None


def aggregate(sessions: Iterable[Scored], by: str) -> list[Group]:
    """Groups in key order (time order for day and week)."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    buckets: dict[str, list[Scored]] = {}
    for s in sessions:
        buckets.setdefault(group_key(s, by), []).append(s)
    groups = [_group(key, buckets[key], by) for key in sorted(buckets, key=str.lower)]
    if by in ("day", "week"):
        previous = None
        for i, g in enumerate(groups):
            if g.mean_score is not None:
                change = None if previous is None else g.mean_score - previous
                groups[i] = replace(g, change=change)
                previous = g.mean_score
    return groups

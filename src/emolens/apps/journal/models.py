"""The journal's records and the rules for what goes into them: check-ins, baselines, tags, notes, clock times.

Plain values (no database here): apps/journal/store.py reads and writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from emolens.apps.journal.readings import one_hot, resting_warning, rounded
from emolens.core.labels import EMOTIONS

SOURCES = ("camera", "photo", "manual", "device")  # device: read in the browser, only the shares sent
SUGGESTED_TAGS = ("sleep", "work", "exercise", "outdoors", "friends", "family", "study", "health", "screens")
TAG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,23}")
MAX_TAGS, MAX_NOTE = 8, 2000
IMAGES = "journal"  # data_dir/journal/<user id>/<random>.jpg


class JournalError(ValueError):
    """A refused journal operation; the message says what to send instead."""


@dataclass(frozen=True)
class CheckIn:
    id: int
    user_id: int
    created_at: str  # UTC
    local_time: str  # the user's wall clock, YYYY-MM-DDTHH:MM:SS
    source: str  # camera, photo or manual
    shares: Mapping[str, float]  # the model's reading, or the mood (manual)
    adjusted: Mapping[str, float] | None  # relative to the baseline at check-in time (None: no baseline)
    emotion: str  # what was read: top of the personal reading, else of adjusted, else of shares
    confidence: float | None
    frames: int
    corrected: str | None  # the user's correction
    note: str
    tags: tuple[str, ...]
    image_file: str | None = None  # relative to data_dir; never in to_dict()
    personal: Mapping[str, float] | None = None  # after the personal adaptation at check-in time (None: not adapted)
    model_sha256: str | None = None  # the model that read it (None: a picked mood, or read before versions)
    contributed: bool = False  # the user contributed its 48x48 face crop

    @property
    def day(self) -> date:
        return date.fromisoformat(self.local_time[:10])

    @property
    def final_emotion(self) -> str:
        """The user's word wins: the correction, else the emotion read (a manual check-in's mood)."""
        return self.corrected or self.emotion

    @property
    def base_reading(self) -> Mapping[str, float]:
        """The model's reading as the journal took it before the personal adaptation: relative to the baseline."""
        return self.adjusted if self.adjusted is not None else self.shares

    @property
    def final_shares(self) -> dict[str, float]:
        """What trends count: a correction or a picked mood as a whole check-in, else the personal reading,
        else the adjusted one, else the raw one."""
        if self.corrected:
            return one_hot(self.corrected)
        return dict(self.personal if self.personal is not None else self.base_reading)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "local_time": self.local_time,
            "source": self.source,
            "emotion": self.emotion,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "corrected": self.corrected,
            "final_emotion": self.final_emotion,
            "shares": rounded(self.shares),
            "adjusted": None if self.adjusted is None else rounded(self.adjusted),
            "personal": None if self.personal is None else rounded(self.personal),
            "final_shares": rounded(self.final_shares),
            "frames": self.frames,
            "note": self.note,
            "tags": list(self.tags),
            "has_image": self.image_file is not None,
            "model_sha256": self.model_sha256,
            "contributed": self.contributed,
        }


@dataclass(frozen=True)
class Baseline:
    probabilities: Mapping[str, float]
    frames: int
    created_at: str
    model_sha256: str | None = None

    @property
    def warning(self) -> str | None:
        """Set when the resting face is not near neutral (calibrate again); see readings.resting_warning."""
        return resting_warning(self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return {
            "probabilities": rounded(self.probabilities),
            "frames": self.frames,
            "created_at": self.created_at,
            "warning": self.warning,
            "model_sha256": self.model_sha256,
        }


def clean_tags(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    """'Work, exercise' or ['work'] -> ('exercise', 'work'): lower case, de-duplicated, sorted."""
    if tags is None:
        return ()
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    out = sorted({t.strip().lower().replace(" ", "-") for t in items if t and t.strip()})
    for tag in out:
        if not TAG_RE.fullmatch(tag):
            raise JournalError(
                f"tag {tag!r}: use up to 24 letters, digits or '-' (e.g. {', '.join(SUGGESTED_TAGS[:3])})"
            )
    if len(out) > MAX_TAGS:
        raise JournalError(f"{len(out)} tags: at most {MAX_TAGS} per check-in")
    return tuple(out)


def clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise JournalError(f"the note has {len(note)} characters: keep it under {MAX_NOTE}")
    return note


def check_emotion(emotion: str) -> str:
    if emotion not in EMOTIONS:
        raise JournalError(f"unknown emotion {emotion!r}: use one of {', '.join(EMOTIONS)}")
    return emotion


def clock(at: datetime | None = None, tz_offset_minutes: int | None = None) -> tuple[str, str]:
    """(UTC time, the user's wall-clock time) of `at` (default now).

    The wall clock is in the zone tz_offset_minutes east of UTC when given (browsers send it),
    else in `at`'s own zone, else (now, or a naive `at`) in this machine's zone.
    """
    if tz_offset_minutes is not None and not -14 * 60 <= tz_offset_minutes <= 14 * 60:
        raise JournalError(f"tz_offset_minutes={tz_offset_minutes} is not a UTC offset (-840..840)")
    aware = at is not None and at.tzinfo is not None
    when = at if at is not None and aware else (at or datetime.now(timezone.utc)).astimezone()
    if when > datetime.now(timezone.utc) + timedelta(days=1):
        raise JournalError(f"the check-in time {when.isoformat()} is in the future: leave it out for now")
    if tz_offset_minutes is not None:
        local = when.astimezone(timezone(timedelta(minutes=tz_offset_minutes)))
    else:
        local = when if aware else when.astimezone()
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), local.strftime("%Y-%m-%dT%H:%M:%S")

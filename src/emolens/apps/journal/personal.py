"""Personal adaptation in the database: each user's calibration (numbers only), its switch, its reset, its status.

The calibration (apps/journal/adaptation.py) is fitted on the user's corrected camera and photo
check-ins, each read as the journal read it (relative to the baseline when there was one), plus
the resting face read as neutral. It is refitted whenever a correction, a check-in or the baseline
changes (apps/journal/checkin.py), and applied to the user's later camera and photo check-ins
(store.add_checkin): earlier ones keep the reading they had, as with the baseline.

Picked moods are never adapted nor learned from. Reset forgets what was learned: corrections
made before it stay in the journal but no longer teach the calibration. Nothing here ever reads
another user's rows, and no other app (customer satisfaction) uses it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from emolens.apps.db import Database, utc_now
from emolens.apps.journal.adaptation import Calibration, Example, cross_validate, fit
from emolens.apps.journal.readings import NEUTRAL, adjust

MAX_CORRECTIONS = 300  # the newest ones teach it: enough to fit 8 numbers, and a refit stays well under a second


@dataclass(frozen=True)
class Adaptation:
    """One user's adaptation: on or off, the fitted calibration (None before the first correction)."""

    enabled: bool = True
    calibration: Calibration | None = None
    corrections: int = 0
    evaluation: dict[str, Any] | None = None  # cross-validated accuracy before/after on the corrections
    fitted_at: str | None = None
    reset_at: str | None = None

    @property
    def active(self) -> bool:
        """Later readings are adapted: switched on and fitted on at least one correction."""
        return self.enabled and self.calibration is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "active": self.active,
            "corrections": self.corrections,
            "evaluation": self.evaluation,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "fitted_at": self.fitted_at,
            "reset_at": self.reset_at,
        }


def stamp() -> str:
    """UTC with microseconds: a correction made right after a reset sorts after it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load(conn: sqlite3.Connection, user_id: int) -> Adaptation:
    """The user's adaptation (the default, on and empty, when nothing was stored yet)."""
    row = conn.execute("SELECT * FROM journal_adaptation WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        return Adaptation()
    return Adaptation(
        enabled=bool(row["enabled"]),
        calibration=None if row["calibration"] is None else Calibration.from_dict(json.loads(row["calibration"])),
        corrections=row["corrections"],
        evaluation=None if row["evaluation"] is None else json.loads(row["evaluation"]),
        fitted_at=row["fitted_at"],
        reset_at=row["reset_at"],
    )


def get(db: Database, user_id: int) -> Adaptation:
    with db.read() as conn:
        return load(conn, user_id)


def _save(conn: sqlite3.Connection, user_id: int, a: Adaptation) -> None:
    conn.execute(
        "INSERT INTO journal_adaptation (user_id, enabled, calibration, corrections, evaluation, fitted_at, reset_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET enabled = excluded.enabled, "
        "calibration = excluded.calibration, corrections = excluded.corrections, evaluation = excluded.evaluation, "
        "fitted_at = excluded.fitted_at, reset_at = excluded.reset_at",
        (
            user_id,
            int(a.enabled),
            None if a.calibration is None else json.dumps(a.calibration.to_dict()),
            a.corrections,
            None if a.evaluation is None else json.dumps(a.evaluation),
            a.fitted_at,
            a.reset_at,
        ),
    )


def _loads(text: str | None) -> dict[str, float] | None:
    return None if text is None else {k: float(v) for k, v in json.loads(text).items()}


def examples(conn: sqlite3.Connection, user_id: int, since: str | None) -> tuple[list[Example], list[Example]]:
    """(the newest MAX_CORRECTIONS corrected model readings since the reset, oldest first; the resting face as a
    neutral anchor)."""
    rows = conn.execute(
        "SELECT shares, adjusted, corrected FROM journal_checkins WHERE user_id = ? AND corrected IS NOT NULL "
        "AND source != 'manual' AND (? IS NULL OR COALESCE(corrected_at, '') > ?) ORDER BY id DESC LIMIT ?",
        (user_id, since, since or "", MAX_CORRECTIONS),
    ).fetchall()[::-1]
    found = [Example(_loads(r["adjusted"]) or _loads(r["shares"]) or {}, r["corrected"]) for r in rows]
    base = conn.execute("SELECT probabilities FROM journal_baselines WHERE user_id = ?", (user_id,)).fetchone()
    anchors = []
    if base is not None:
        b = _loads(base["probabilities"]) or {}
        anchors.append(Example(adjust(b, b), NEUTRAL))  # the resting face, as check-ins are read relative to it
    return found, anchors


def refit(db: Database, user_id: int) -> Adaptation:
    """Fit the user's calibration again on their corrections (in one transaction, so refits never interleave)."""
    with db.write() as conn:
        current = load(conn, user_id)
        found, anchors = examples(conn, user_id, current.reset_at)
        if found:
            labels = _labels(found)
            same = [e for e in found if tuple(e.reading) == labels]  # readings of models with other labels cannot mix
            calibration: Calibration | None = fit([*same, *anchors], labels)
            evaluation = cross_validate(same, labels, anchors)
        else:
            calibration, evaluation, same = None, None, []
        new = Adaptation(current.enabled, calibration, len(same), evaluation, utc_now(), current.reset_at)
        _save(conn, user_id, new)
    return new


def _labels(found: list[Example]) -> tuple[str, ...]:
    """The label set of the newest corrected reading (the current model's)."""
    return tuple(found[-1].reading)


def set_enabled(db: Database, user_id: int, enabled: bool) -> Adaptation:
    """Switch the adaptation of later check-ins on or off (what was learned is kept)."""
    with db.write() as conn:
        current = load(conn, user_id)
        new = Adaptation(
            enabled,
            current.calibration,
            current.corrections,
            current.evaluation,
            current.fitted_at,
            current.reset_at,
        )
        _save(conn, user_id, new)
    return new


def reset(db: Database, user_id: int) -> Adaptation:
    """Forget what was learned: the calibration goes, and corrections made so far no longer count."""
    with db.write() as conn:
        current = load(conn, user_id)
        new = Adaptation(current.enabled, None, 0, None, None, stamp())
        _save(conn, user_id, new)
    return new

"""Check-ins and baselines in the database: add, read, correct, delete. Every query is scoped to one user.

A check-in stores numbers (shares per emotion, the reading relative to the baseline,
confidence, frames), the note and tags; the photo only when the user keeps it, as a
re-encoded JPEG under data_dir/journal/<user id>/, deleted with the check-in or account.
Functions return None / False for another user's id exactly as for a missing one.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from emolens.apps.db import Database, utc_now
from emolens.apps.journal import contributions, personal
from emolens.apps.journal.models import (
    IMAGES,
    MAX_NOTE,
    MAX_TAGS,
    SOURCES,
    SUGGESTED_TAGS,
    TAG_RE,
    Baseline,
    CheckIn,
    JournalError,
    check_emotion,
    clean_note,
    clean_tags,
    clock,
)
from emolens.apps.journal.readings import Reading, adjust, rounded, top

# The records and their rules live in models.py; these names stay importable from here.
__all__ = [
    "IMAGES",
    "MAX_NOTE",
    "MAX_TAGS",
    "SOURCES",
    "SUGGESTED_TAGS",
    "TAG_RE",
    "Baseline",
    "CheckIn",
    "JournalError",
    "add_checkin",
    "check_emotion",
    "checkin_days",
    "checkin_for_key",
    "clean_note",
    "clean_tags",
    "clock",
    "delete_baseline",
    "delete_checkin",
    "get_baseline",
    "get_checkin",
    "image_path",
    "list_checkins",
    "save_baseline",
    "update_checkin",
    "user_images_dir",
]


def _loads(text: str | None) -> dict[str, float] | None:
    return None if text is None else {k: float(v) for k, v in json.loads(text).items()}


def _checkin(row: sqlite3.Row, tags: Sequence[str]) -> CheckIn:
    return CheckIn(
        id=row["id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        local_time=row["local_time"],
        source=row["source"],
        shares=_loads(row["shares"]) or {},
        adjusted=_loads(row["adjusted"]),
        emotion=row["emotion"],
        confidence=row["confidence"],
        frames=row["frames"],
        corrected=row["corrected"],
        note=row["note"],
        tags=tuple(tags),
        image_file=row["image_file"],
        personal=_loads(row["personal"]),
        model_sha256=row["model_sha256"],
        contributed=bool(row["contributed"]),
    )


# Every read of a check-in: its row and whether its face crop was contributed.
SELECT_CHECKIN = (
    "SELECT journal_checkins.*, EXISTS (SELECT 1 FROM journal_contributions k WHERE k.checkin_id = "
    "journal_checkins.id) AS contributed FROM journal_checkins"
)


def _tags_for(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT checkin_id, tag FROM journal_tags WHERE checkin_id IN ({marks}) ORDER BY tag", chunk
        ):
            out[row[0]].append(row[1])
    return out


def _baseline(conn: sqlite3.Connection, user_id: int) -> Baseline | None:
    row = conn.execute("SELECT * FROM journal_baselines WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        return None
    return Baseline(_loads(row["probabilities"]) or {}, row["frames"], row["created_at"], row["model_sha256"])


def add_checkin(
    db: Database,
    user_id: int,
    reading: Reading,
    *,
    source: str,
    note: str = "",
    tags: Iterable[str] | str | None = None,
    at: datetime | None = None,
    tz_offset_minutes: int | None = None,
    image_jpeg: bytes | None = None,
    data_dir: Path | None = None,
    idempotency_key: str | None = None,
    model_sha256: str | None = None,
    contribution: bytes | None = None,
) -> CheckIn:
    """Store one check-in; camera and photo readings are adjusted by the user's baseline, if any, then by
    their personal adaptation when it is on (apps/journal/personal.py).

    image_jpeg is kept only when given (the user opted in); it must be re-encoded pixels without
    metadata (see journal.images.private_jpeg) and needs data_dir. contribution: the 48x48 gray face
    crop the user chose to contribute (contributions.pixels). model_sha256: the model that read it.
    With an idempotency_key the user already stored a check-in under, that check-in is returned and
    nothing is written.
    """
    if source not in SOURCES:
        raise JournalError(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    if contribution is not None and source == "manual":
        raise JournalError("a picked mood has no face crop to contribute")
    note, tags = clean_note(note), clean_tags(tags)
    created, local = clock(at, tz_offset_minutes)
    image_file = _write_image(data_dir, user_id, image_jpeg) if image_jpeg is not None else None
    try:
        with db.write() as conn:
            earlier = _for_key(conn, user_id, idempotency_key)
            if earlier is not None:  # a retry: the first request's check-in, stored once
                raise _Replay(earlier)
            row = _insert(
                conn, user_id, reading, source, (created, local), note, tags, image_file, idempotency_key, model_sha256
            )
            if contribution is not None:
                contributions.insert(conn, user_id, row["id"], contribution, model_sha256)
                row = conn.execute(f"{SELECT_CHECKIN} WHERE id = ?", (row["id"],)).fetchone()
    except BaseException as exc:
        if image_file is not None and data_dir is not None:
            (data_dir / image_file).unlink(missing_ok=True)
        if isinstance(exc, _Replay):
            return exc.checkin
        raise
    return _checkin(row, tags)


INSERT_CHECKIN = (
    "INSERT INTO journal_checkins (user_id, created_at, local_time, source, shares, adjusted, personal, emotion, "
    "confidence, frames, note, image_file, idempotency_key, model_sha256) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert(
    conn: sqlite3.Connection,
    user_id: int,
    reading: Reading,
    source: str,
    times: tuple[str, str],
    note: str,
    tags: Sequence[str],
    image_file: str | None,
    key: str | None,
    model_sha256: str | None,
) -> sqlite3.Row:
    """A check-in's rows, read relative to the user's baseline when there is one, then through their personal
    adaptation when it is on (never a picked mood)."""
    baseline = _baseline(conn, user_id) if source != "manual" else None
    adjusted = adjust(reading.shares, baseline.probabilities) if baseline else None
    adaptation = personal.load(conn, user_id) if source != "manual" else None
    adapted = None
    if adaptation is not None and adaptation.active and adaptation.calibration is not None:
        adapted = adaptation.calibration.apply(adjusted or reading.shares)
    emotion = top(adapted or adjusted or reading.shares)
    values = [json.dumps(rounded(r, 6)) if r is not None else None for r in (reading.shares, adjusted, adapted)]
    counts = (reading.confidence, reading.frames)
    cur = conn.execute(
        INSERT_CHECKIN, (user_id, *times, source, *values, emotion, *counts, note, image_file, key, model_sha256)
    )
    conn.executemany("INSERT INTO journal_tags (checkin_id, tag) VALUES (?, ?)", [(cur.lastrowid, t) for t in tags])
    return conn.execute(f"{SELECT_CHECKIN} WHERE id = ?", (cur.lastrowid,)).fetchone()


class _Replay(Exception):
    """Rolls back add_checkin's transaction when its idempotency key was used before."""

    def __init__(self, checkin: CheckIn):
        super().__init__(checkin.id)
        self.checkin = checkin


def _for_key(conn: sqlite3.Connection, user_id: int, key: str | None) -> CheckIn | None:
    if key is None:
        return None
    row = conn.execute(f"{SELECT_CHECKIN} WHERE user_id = ? AND idempotency_key = ?", (user_id, key)).fetchone()
    return None if row is None else _checkin(row, _tags_for(conn, [row["id"]])[row["id"]])


def checkin_for_key(db: Database, user_id: int, key: str) -> CheckIn | None:
    """The user's check-in stored under this idempotency key, if any (a client's retry)."""
    with db.read() as conn:
        return _for_key(conn, user_id, key)


def get_checkin(db: Database, user_id: int, checkin_id: int) -> CheckIn | None:
    with db.read() as conn:
        row = conn.execute(f"{SELECT_CHECKIN} WHERE id = ? AND user_id = ?", (checkin_id, user_id)).fetchone()
        return None if row is None else _checkin(row, _tags_for(conn, [row["id"]])[row["id"]])


def list_checkins(
    db: Database,
    user_id: int,
    *,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[CheckIn]:
    """The user's check-ins whose local day is within [since, until], oldest first by default."""
    where: list[str] = ["user_id = ?"]
    args: list[int | str] = [user_id]
    if since is not None:
        where.append("local_time >= ?")
        args.append(since.isoformat())
    if until is not None:
        where.append("local_time < ?")
        args.append((until + timedelta(days=1)).isoformat())
    sql = (
        f"{SELECT_CHECKIN} WHERE {' AND '.join(where)} "
        f"ORDER BY local_time {'DESC' if newest_first else 'ASC'}, id {'DESC' if newest_first else 'ASC'}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with db.read() as conn:
        rows = conn.execute(sql, args).fetchall()
        tags = _tags_for(conn, [r["id"] for r in rows])
    return [_checkin(r, tags[r["id"]]) for r in rows]


UNSET: Any = object()


def update_checkin(
    db: Database,
    user_id: int,
    checkin_id: int,
    *,
    corrected: str | None = UNSET,
    note: str | None = UNSET,
    tags: Iterable[str] | str | None = UNSET,
) -> CheckIn | None:
    """Correct the emotion (None clears the correction), or change the note or tags; None when not the user's."""
    with db.write() as conn:
        if (
            conn.execute(
                "SELECT 1 FROM journal_checkins WHERE id = ? AND user_id = ?", (checkin_id, user_id)
            ).fetchone()
            is None
        ):
            return None
        if corrected is not UNSET:
            conn.execute(
                "UPDATE journal_checkins SET corrected = ?, corrected_at = ? WHERE id = ?",
                (None if corrected is None else check_emotion(corrected), personal.stamp(), checkin_id),
            )
        if note is not UNSET:
            conn.execute("UPDATE journal_checkins SET note = ? WHERE id = ?", (clean_note(note), checkin_id))
        if tags is not UNSET:
            conn.execute("DELETE FROM journal_tags WHERE checkin_id = ?", (checkin_id,))
            conn.executemany(
                "INSERT INTO journal_tags (checkin_id, tag) VALUES (?, ?)", [(checkin_id, t) for t in clean_tags(tags)]
            )
    return get_checkin(db, user_id, checkin_id)


def delete_checkin(db: Database, user_id: int, checkin_id: int, *, data_dir: Path | None = None) -> bool:
    """Delete one check-in and its kept photo; False when it is not the user's (or does not exist)."""
    with db.write() as conn:
        row = conn.execute(
            "SELECT image_file FROM journal_checkins WHERE id = ? AND user_id = ?", (checkin_id, user_id)
        ).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM journal_checkins WHERE id = ?", (checkin_id,))
    if row["image_file"] and data_dir is not None:
        image_path(data_dir, row["image_file"]).unlink(missing_ok=True)
    return True


def save_baseline(db: Database, user_id: int, reading: Reading, model_sha256: str | None = None) -> Baseline:
    """The relaxed face's mean probabilities become the user's baseline (replacing an older one)."""
    if reading.frames == 0:
        raise JournalError("a baseline needs at least one photo or frame with a face")
    baseline = Baseline(dict(reading.shares), reading.frames, utc_now(), model_sha256)
    with db.write() as conn:
        conn.execute(
            "INSERT INTO journal_baselines (user_id, probabilities, frames, created_at, model_sha256) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET probabilities = excluded.probabilities, "
            "frames = excluded.frames, created_at = excluded.created_at, model_sha256 = excluded.model_sha256",
            (
                user_id,
                json.dumps(rounded(baseline.probabilities, 6)),
                baseline.frames,
                baseline.created_at,
                model_sha256,
            ),
        )
    return baseline


def get_baseline(db: Database, user_id: int) -> Baseline | None:
    with db.read() as conn:
        return _baseline(conn, user_id)


def delete_baseline(db: Database, user_id: int) -> bool:
    with db.write() as conn:
        return conn.execute("DELETE FROM journal_baselines WHERE user_id = ?", (user_id,)).rowcount > 0


def user_images_dir(data_dir: Path, user_id: int) -> Path:
    return Path(data_dir) / IMAGES / str(int(user_id))


def image_path(data_dir: Path, image_file: str) -> Path:
    """The kept photo's path, refusing anything outside data_dir/journal."""
    root = (Path(data_dir) / IMAGES).resolve()
    path = (Path(data_dir) / image_file).resolve()
    if root not in path.parents:
        raise JournalError(f"refusing image path outside {root}: {image_file!r}")
    return path


def _write_image(data_dir: Path | None, user_id: int, jpeg: bytes) -> str:
    if data_dir is None:
        raise JournalError("keeping the photo needs a data folder")
    folder = user_images_dir(data_dir, user_id)
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.mkdir(exist_ok=True, mode=0o700)
    name = f"{secrets.token_hex(12)}.jpg"
    with open(folder / name, "xb") as fh:  # new file, never overwrite
        fh.write(jpeg)
    (folder / name).chmod(0o600)
    return f"{IMAGES}/{int(user_id)}/{name}"


def checkin_days(db: Database, user_id: int) -> list[date]:
    """Every local day on which the user checked in (for streaks), oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            "SELECT DISTINCT substr(local_time, 1, 10) FROM journal_checkins WHERE user_id = ? ORDER BY 1", (user_id,)
        ).fetchall()
    return [date.fromisoformat(r[0]) for r in rows]

"""Service sessions in the shared database: plain functions over a `Database` handle.

A session belongs to the user who created it; every read and write takes that
user's id, so another account's session id looks exactly like a missing one.
What is stored per session: location, agent, an optional customer reference,
times, the score, confidence, reason and, as JSON, the explanation, the binned
customer timeline and the numbers about each tracked face. Never an image.

    db = open_database(path, all_migrations())   # apps/registry.py
    s = create_session(db, user.id, location="Main St", agent="ana")
    save_analysis(db, s.id, analyze_recording(recording))
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from emolens.apps.db import Database, utc_now
from emolens.apps.satisfaction.analysis import SessionAnalysis

SOURCES = ("live", "video", "cli")
STATUSES = ("open", "recording", "processing", "done", "failed")
MAX_TEXT = 100


class SessionError(ValueError):
    """A refused session operation; the message says what to send instead."""


@dataclass(frozen=True)
class ServiceSession:
    id: str
    user_id: int
    location: str
    agent: str
    customer_ref: str | None
    source: str
    status: str
    created_at: str
    started_at: str
    ended_at: str | None
    frames: int
    duration: float | None
    score: float | None
    confidence: float | None
    reason: str | None
    error: str | None
    analysis: dict[str, Any] | None  # None in lists (left out to keep them light) and before analysis
    model_sha256: str | None = None  # the model that read it (None before it was analysed)

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        out = {
            "id": self.id,
            "location": self.location,
            "agent": self.agent,
            "customer_ref": self.customer_ref,
            "source": self.source,
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "frames": self.frames,
            "duration": self.duration,
            "score": self.score,
            "confidence": self.confidence,
            "reason": self.reason,
            "error": self.error,
            "model_sha256": self.model_sha256,
        }
        if full:
            a = self.analysis or {}
            out.update(
                explanation=a.get("explanation"),
                timeline=a.get("timeline"),
                customer=a.get("customer"),
                details=a.get("details"),
            )
        return out


@dataclass(frozen=True)
class SessionFilter:
    """Filters of a listing; start / end are dates (inclusive) or ISO datetimes, UTC."""

    location: str | None = None
    agent: str | None = None
    start: str | None = None
    end: str | None = None
    status: str | None = None
    limit: int | None = None

    def where(self, user_id: int | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if user_id is not None:
            clauses.append("user_id = ?")
            args.append(user_id)
        for column in ("location", "agent", "status"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.start:
            clauses.append("started_at >= ?")
            args.append(time_bound(self.start, end=False))
        if self.end:
            clauses.append("started_at < ?")
            args.append(time_bound(self.end, end=True))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_bound(text: str, *, end: bool) -> str:
    """'2026-03-02' -> that day's start (or, for an end, the next day's start); datetimes as given, in UTC."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return f"{day + timedelta(days=1) if end else day}T00:00:00Z"
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SessionError(
            f"{text!r} is not a date: write YYYY-MM-DD or an ISO time such as 2026-03-02T09:00:00Z"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return iso(moment + timedelta(seconds=1) if end else moment)


def _text(value: str | None, what: str, *, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise SessionError(f"{what} is required (e.g. the shop or the counter's name for location)")
        return None
    if len(value) > MAX_TEXT:
        raise SessionError(f"{what} is longer than {MAX_TEXT} characters")
    return value


def _row(row: sqlite3.Row, *, with_analysis: bool = True) -> ServiceSession:
    analysis = json.loads(row["analysis"]) if with_analysis and row["analysis"] else None
    return ServiceSession(
        id=row["id"],
        user_id=row["user_id"],
        location=row["location"],
        agent=row["agent"],
        customer_ref=row["customer_ref"],
        source=row["source"],
        status=row["status"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        frames=row["frames"],
        duration=row["duration"],
        score=row["score"],
        confidence=row["confidence"],
        reason=row["reason"],
        error=row["error"],
        analysis=analysis,
        model_sha256=row["model_sha256"],
    )


def create_session(
    db: Database,
    user_id: int,
    *,
    location: str,
    agent: str,
    customer_ref: str | None = None,
    source: str = "live",
    started_at: str | None = None,
    session_id: str | None = None,
) -> ServiceSession:
    """A new open session. session_id: a chosen id of 32 hex digits (a batch job's, derived from its input,
    so a retried job finds the session it wrote), else a random one."""
    if source not in SOURCES:
        raise SessionError(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    if session_id is not None and (len(session_id) != 32 or any(c not in "0123456789abcdef" for c in session_id)):
        raise SessionError(f"a session id is 32 lowercase hex digits, got {session_id!r}")
    values = (
        session_id or secrets.token_hex(16),
        user_id,
        _text(location, "location", required=True),
        _text(agent, "agent", required=True),
        _text(customer_ref, "customer_ref", required=False),
        source,
        "open",
        utc_now(),
        started_at or utc_now(),
    )
    with db.write() as conn:
        conn.execute(
            "INSERT INTO service_sessions (id, user_id, location, agent, customer_ref, source, status, "
            "created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        row = conn.execute("SELECT * FROM service_sessions WHERE id = ?", (values[0],)).fetchone()
    return _row(row)


def get_session(db: Database, user_id: int, session_id: str) -> ServiceSession | None:
    """The session if it exists and belongs to user_id, else None (callers answer 404 either way)."""
    with db.read() as conn:
        row = conn.execute(
            "SELECT * FROM service_sessions WHERE id = ? AND user_id = ?", (session_id, user_id)
        ).fetchone()
    return None if row is None else _row(row)


def list_sessions(
    db: Database, user_id: int | None, filters: SessionFilter = SessionFilter(), *, with_analysis: bool = False
) -> list[ServiceSession]:
    """Newest first; user_id None lists every account's (the CLI's report over a whole database)."""
    where, args = filters.where(user_id)
    limit = f" LIMIT {int(filters.limit)}" if filters.limit else ""
    with db.read() as conn:
        rows = conn.execute(
            f"SELECT * FROM service_sessions{where} ORDER BY started_at DESC, id{limit}", args
        ).fetchall()
    return [_row(r, with_analysis=with_analysis) for r in rows]


def known_values(db: Database, user_id: int) -> dict[str, list[str]]:
    """The user's locations and agents so far (for filter and form suggestions)."""
    with db.read() as conn:
        return {
            column + "s": [
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT {column} FROM service_sessions WHERE user_id = ? "
                    f"ORDER BY {column} COLLATE NOCASE",
                    (user_id,),
                )
            ]
            for column in ("location", "agent")
        }


def set_status(db: Database, session_id: str, status: str, *, error: str | None = None) -> None:
    """Move a session along (processing, failed ...); error says why a session failed."""
    if status not in STATUSES:
        raise SessionError(f"unknown status {status!r}")
    with db.write() as conn:
        conn.execute("UPDATE service_sessions SET status = ?, error = ? WHERE id = ?", (status, error, session_id))


def ended_at(started_at: str, duration_s: float) -> str:
    """The session's end: its start plus what was recorded (an analysed video ends where its footage ends,
    however long the analysis took)."""
    start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    return iso(start + timedelta(seconds=round(duration_s)))


def save_analysis(db: Database, session_id: str, analysis: SessionAnalysis, model_sha256: str | None = None) -> None:
    """The session's scored numbers, and the sha256 of the model that read it (every stored reading records it)."""
    d = analysis.to_dict()
    blob = {k: d[k] for k in ("explanation", "timeline", "customer", "details")}
    with db.write() as conn:
        row = conn.execute("SELECT started_at FROM service_sessions WHERE id = ?", (session_id,)).fetchone()
        end = ended_at(row["started_at"], analysis.duration) if row else utc_now()
        conn.execute(
            "UPDATE service_sessions SET status = 'done', error = NULL, ended_at = ?, frames = ?, "
            "duration = ?, score = ?, confidence = ?, reason = ?, analysis = ?, model_sha256 = ? WHERE id = ?",
            (
                end,
                analysis.frames,
                round(analysis.duration, 3),
                analysis.score,
                analysis.confidence,
                analysis.reason,
                json.dumps(blob, separators=(",", ":")),
                model_sha256,
                session_id,
            ),
        )


def claim_for_recording(db: Database, user_id: int, session_id: str, source: str) -> ServiceSession | None:
    """Atomically give an open (or failed) session its recording: source 'live' (status recording, the clock
    restarts now) or 'video' (status processing). None when the session is not the user's or already has
    its recording (one camera or one upload per session, so recordings never mix)."""
    if source not in ("live", "video"):
        raise SessionError(f"a recording comes from 'live' or 'video', not {source!r}")
    status = "recording" if source == "live" else "processing"
    now = utc_now()
    with db.write() as conn:
        changed = conn.execute(
            "UPDATE service_sessions SET status = ?, source = ?, error = NULL, "
            "started_at = CASE WHEN ? = 'live' THEN ? ELSE started_at END "
            "WHERE id = ? AND user_id = ? AND status IN ('open', 'failed')",
            (status, source, source, now, session_id, user_id),
        ).rowcount
        row = conn.execute("SELECT * FROM service_sessions WHERE id = ?", (session_id,)).fetchone()
    return _row(row) if changed else None


def delete_session(db: Database, user_id: int, session_id: str) -> bool:
    with db.write() as conn:
        gone = (
            conn.execute("DELETE FROM service_sessions WHERE id = ? AND user_id = ?", (session_id, user_id)).rowcount
            > 0
        )
    if gone:
        db.checkpoint()
    return gone


def purge_older_than(db: Database, days: float, *, now: datetime | None = None) -> int:
    """Retention: delete every account's sessions that started more than `days` ago; returns how many.

    days <= 0 keeps everything. The WAL is checkpointed afterwards so no copy of the rows stays behind.
    """
    if days <= 0:
        return 0
    cutoff = iso((now or datetime.now(timezone.utc)) - timedelta(days=days))
    with db.write() as conn:
        deleted = conn.execute("DELETE FROM service_sessions WHERE started_at < ?", (cutoff,)).rowcount
    if deleted:
        db.checkpoint()
    return deleted

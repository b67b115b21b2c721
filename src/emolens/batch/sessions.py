"""Service sessions at scale: a manifest of recorded videos, scored in a batch job, stored once each.

The manifest is a CSV file with a header: video, location, agent, started_at (ISO time or date)
and optionally customer_ref. Relative video paths are read from the manifest's folder.
Each row's session id is derived from the account, the video and the row's fields, so a job that
is stopped, rerun, or whose worker dies and is retried writes every session exactly once
(`SessionSink.done()` skips the sessions already scored; save_scored_session never writes twice).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from emolens.apps.db import Database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.store import SessionError, time_bound
from emolens.apps.satisfaction.video import save_scored_session
from emolens.batch.inputs import Item
from emolens.batch.worker import PartResult

REQUIRED = ("video", "location", "agent", "started_at")
OPTIONAL = ("customer_ref",)


class ManifestError(ValueError):
    """A manifest that cannot be read; the message names the file and the line."""


def session_id(user_id: int, video: str, meta: dict[str, str]) -> str:
    """The session's id: the same account, video and manifest fields always give the same 32 hex digits."""
    text = "\n".join([str(user_id), video, *(meta.get(k, "") for k in ("location", "agent", "started_at"))])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def session_item(user_id: int, video: str | Path, meta: dict[str, str]) -> Item:
    path = os.path.abspath(video)
    return Item(path=path, kind="session", key=session_id(user_id, path, meta), meta=dict(meta))


def read_manifest(path: str | Path) -> list[tuple[str, dict[str, str]]]:
    """[(video path, {location, agent, started_at (UTC ISO), customer_ref?})], every row checked first."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ManifestError(
            f"{path}: the header lacks {', '.join(missing)} (columns: {', '.join(REQUIRED)}[, customer_ref])"
        )
    rows, problems = [], []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        empty = [c for c in REQUIRED if not row.get(c)]
        if empty:
            problems.append(f"line {line}: no {', '.join(empty)}")
            continue
        try:
            started = time_bound(row["started_at"], end=False)
        except SessionError as exc:
            problems.append(f"line {line}: started_at {exc}")
            continue
        video = Path(row["video"]).expanduser()
        video = video if video.is_absolute() else path.parent / video
        meta = {"location": row["location"], "agent": row["agent"], "started_at": started}
        meta.update({k: row[k] for k in OPTIONAL if row.get(k)})
        rows.append((str(video), meta))
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))
    if not rows:
        raise ManifestError(f"{path}: no sessions listed (one row per video under the header)")
    return rows


class SessionSink:
    """The satisfaction store as a job's sink: sessions of one account, each written once."""

    def __init__(self, db: Database, user_id: int, items: Sequence[Item]):
        self.db, self.user_id = db, user_id
        self.keys = [i.key for i in items]
        self.stored: list[store.ServiceSession] = []
        self.failed: list[tuple[Item, str]] = []

    def done(self) -> set[str]:
        """The sessions already scored (a failed one is tried again)."""
        found = (store.get_session(self.db, self.user_id, k) for k in self.keys)
        return {s.id for s in found if s is not None and s.status == "done"}

    def add(self, result: PartResult) -> None:
        for item, analysis, error in result.sessions:
            if error is not None:
                self._fail(item, error)
                continue
            self.stored.append(
                save_scored_session(
                    self.db,
                    self.user_id,
                    analysis,
                    location=item.meta["location"],
                    agent=item.meta["agent"],
                    customer_ref=item.meta.get("customer_ref"),
                    source="cli",
                    started_at=item.meta.get("started_at"),
                    session_id=item.key,
                )
            )

    def _fail(self, item: Item, error: str) -> None:
        """A video that could not be scored: a failed session with the reason (the dashboard lists it)."""
        self.failed.append((item, error))
        session = store.get_session(self.db, self.user_id, item.key) or store.create_session(
            self.db,
            self.user_id,
            location=item.meta["location"],
            agent=item.meta["agent"],
            customer_ref=item.meta.get("customer_ref"),
            source="cli",
            started_at=item.meta.get("started_at"),
            session_id=item.key,
        )
        if session.status != "done":
            store.set_status(self.db, session.id, "failed", error=error)

    def finish(self) -> int:
        return len(self.stored)

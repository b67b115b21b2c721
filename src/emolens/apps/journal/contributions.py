"""Contributed face crops: with the user's consent, per check-in, the 48x48 gray crop the model read (never
the photo), kept to improve the shared model (`emolens finetune`). Off by default.

The crop is kept with its check-in; it teaches the model only once the check-in carries a
correction (the user's word is its label). Listed in the export, deletable one by one or all at
once, and gone with its check-in or the account; after a deletion the WAL is checkpointed so no
copy of the pixels stays behind in the database's files.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from emolens.apps.db import Database, utc_now

CROP_SIZE = 48  # FER2013's geometry: gray, 48 x 48, the shipped models' input


class ContributionError(ValueError):
    """A crop that is not a 48x48 gray image, or a contribution that cannot be made."""


@dataclass(frozen=True)
class Contribution:
    id: int
    checkin_id: int
    label: str | None  # the check-in's correction; None: not corrected (not used for training yet)
    created_at: str
    model_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "checkin_id": self.checkin_id,
            "label": self.label,
            "created_at": self.created_at,
            "model_sha256": self.model_sha256,
            "size": [CROP_SIZE, CROP_SIZE],
            "used_for_training": self.label is not None,
        }


@dataclass(frozen=True)
class TrainingCrops:
    """Every user's contributed crops that carry a correction: what `emolens finetune` learns from."""

    crops: np.ndarray  # (N, 48, 48) uint8
    labels: tuple[str, ...]  # the corrections
    users: tuple[int, ...]
    model_sha256: tuple[str | None, ...]


def pixels(crop: np.ndarray) -> bytes:
    """The raw bytes of a 48x48 gray uint8 crop (refusing anything else: a photo never gets in here)."""
    crop = np.asarray(crop)
    if crop.dtype != np.uint8 or crop.shape != (CROP_SIZE, CROP_SIZE):
        raise ContributionError(
            f"a contributed crop is {CROP_SIZE}x{CROP_SIZE} gray uint8, got {crop.dtype} {crop.shape}"
        )
    return np.ascontiguousarray(crop).tobytes()


def as_image(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, np.uint8).reshape(CROP_SIZE, CROP_SIZE).copy()


def insert(conn: sqlite3.Connection, user_id: int, checkin_id: int, crop: bytes, model_sha256: str | None) -> None:
    conn.execute(
        "INSERT INTO journal_contributions (user_id, checkin_id, crop, model_sha256, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (user_id, checkin_id, crop, model_sha256, utc_now()),
    )


SELECT = (
    "SELECT k.id, k.checkin_id, k.created_at, k.model_sha256, c.corrected FROM journal_contributions k "
    "JOIN journal_checkins c ON c.id = k.checkin_id"
)


def _row(row: sqlite3.Row) -> Contribution:
    return Contribution(row["id"], row["checkin_id"], row["corrected"], row["created_at"], row["model_sha256"])


def list_contributions(db: Database, user_id: int) -> list[Contribution]:
    """The user's contributed crops, oldest first."""
    with db.read() as conn:
        return [_row(r) for r in conn.execute(f"{SELECT} WHERE k.user_id = ? ORDER BY k.id", (user_id,))]


def get_crop(db: Database, user_id: int, contribution_id: int) -> np.ndarray | None:
    """The 48x48 crop of one of the user's contributions (None for another user's id, as for a missing one)."""
    with db.read() as conn:
        row = conn.execute(
            "SELECT crop FROM journal_contributions WHERE id = ? AND user_id = ?", (contribution_id, user_id)
        ).fetchone()
    return None if row is None else as_image(row["crop"])


def crop_png(crop: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", crop)
    if not ok:
        raise ContributionError("could not encode the crop as PNG")
    return buf.tobytes()


def delete(db: Database, user_id: int, contribution_id: int) -> bool:
    """Withdraw one contribution (the check-in stays); False when it is not the user's."""
    with db.write() as conn:
        gone = (
            conn.execute(
                "DELETE FROM journal_contributions WHERE id = ? AND user_id = ?", (contribution_id, user_id)
            ).rowcount
            > 0
        )
    if gone:
        db.checkpoint()  # the pixels' old pages leave the WAL file too
    return gone


def delete_all(db: Database, user_id: int) -> int:
    """Withdraw every contribution of the user; how many there were."""
    with db.write() as conn:
        n = conn.execute("DELETE FROM journal_contributions WHERE user_id = ?", (user_id,)).rowcount
    if n:
        db.checkpoint()
    return n


def training_crops(db: Database) -> TrainingCrops:
    """Every user's contributed crops whose check-in carries a correction, oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            "SELECT k.crop, k.user_id, k.model_sha256, c.corrected FROM journal_contributions k "
            "JOIN journal_checkins c ON c.id = k.checkin_id WHERE c.corrected IS NOT NULL ORDER BY k.id"
        ).fetchall()
    crops = np.stack([as_image(r["crop"]) for r in rows]) if rows else np.zeros((0, CROP_SIZE, CROP_SIZE), np.uint8)
    return TrainingCrops(
        crops,
        tuple(r["corrected"] for r in rows),
        tuple(r["user_id"] for r in rows),
        tuple(r["model_sha256"] for r in rows),
    )

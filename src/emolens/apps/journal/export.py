"""Your data: the whole journal of one user as JSON or CSV (kept photos are listed, fetched separately; contributed
48x48 face crops are in the JSON, as PNG in base64)."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from emolens.apps import accounts
from emolens.apps.db import Database, utc_now
from emolens.apps.journal import contributions, personal, store
from emolens.core.labels import label_set

FORMATS = ("json", "csv")
LABELS = label_set(8)  # every label a shipped model may read, contempt (8-class FER+ models) included
CSV_FIELDS = (
    "id",
    "created_at",
    "local_time",
    "source",
    "emotion",
    "confidence",
    "corrected",
    "final_emotion",
    "frames",
    "note",
    "tags",
    "has_image",
    "contributed",
    "model_sha256",
    *(f"share_{e}" for e in LABELS),
    *(f"adjusted_{e}" for e in LABELS),
    *(f"personal_{e}" for e in LABELS),
)


def export_json(db: Database, user_id: int) -> dict[str, Any]:
    """Everything the journal holds about the user, as one JSON-ready document."""
    user = accounts.get_user(db, user_id)
    if user is None:
        raise store.JournalError(f"no user {user_id}")
    baseline = store.get_baseline(db, user_id)
    return {
        "format": "emolens-journal",
        "version": 2,
        "exported_at": utc_now(),
        "user": user.to_dict(),
        "api_tokens": [t.to_dict() for t in accounts.list_tokens(db, user_id)],
        "baseline": None if baseline is None else baseline.to_dict(),
        "adaptation": personal.get(db, user_id).to_dict(),
        "checkins": [c.to_dict() for c in store.list_checkins(db, user_id)],
        "contributions": _contributions(db, user_id),
    }


def _contributions(db: Database, user_id: int) -> list[dict[str, Any]]:
    """Each contributed crop's record, with its pixels as a base64 PNG: what the user gave, in full."""
    out = []
    for c in contributions.list_contributions(db, user_id):
        crop = contributions.get_crop(db, user_id, c.id)
        png = "" if crop is None else base64.b64encode(contributions.crop_png(crop)).decode("ascii")
        out.append({**c.to_dict(), "crop_png_base64": png})
    return out


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(db: Database, user_id: int) -> str:
    """One row per check-in, oldest first: the reading, the adjusted reading, corrections, note and tags."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for c in store.list_checkins(db, user_id):
        row: dict[str, Any] = {
            "id": c.id,
            "created_at": c.created_at,
            "local_time": c.local_time,
            "source": c.source,
            "emotion": c.emotion,
            "confidence": "" if c.confidence is None else round(c.confidence, 4),
            "corrected": c.corrected or "",
            "final_emotion": c.final_emotion,
            "frames": c.frames,
            "note": _cell(c.note),
            "tags": _cell(";".join(c.tags)),
            "has_image": int(c.image_file is not None),
            "contributed": int(c.contributed),
            "model_sha256": c.model_sha256 or "",
        }
        for e in LABELS:  # a label the reading's model did not have stays empty, not 0
            row[f"share_{e}"] = round(c.shares[e], 4) if e in c.shares else ""
            row[f"adjusted_{e}"] = round(c.adjusted[e], 4) if c.adjusted is not None and e in c.adjusted else ""
            row[f"personal_{e}"] = round(c.personal[e], 4) if c.personal is not None and e in c.personal else ""
        writer.writerow(row)
    return out.getvalue()

"""CSV exports: one row per session, and one session's customer timeline.

Text a business typed (location, agent, customer reference) that starts with
=, +, -, @ or a tab is prefixed with ' so spreadsheets never run it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from emolens.apps.satisfaction.store import ServiceSession

SESSION_COLUMNS = (
    "id",
    "started_at",
    "ended_at",
    "location",
    "agent",
    "customer_ref",
    "source",
    "status",
    "duration_s",
    "frames",
    "score",
    "confidence",
    "reason",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def sessions_csv(sessions: Iterable[ServiceSession]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SESSION_COLUMNS)
    for s in sessions:
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    s.id,
                    s.started_at,
                    s.ended_at,
                    s.location,
                    s.agent,
                    s.customer_ref,
                    s.source,
                    s.status,
                    None if s.duration is None else round(s.duration, 2),
                    s.frames,
                    s.score,
                    None if s.confidence is None else round(s.confidence, 3),
                    s.reason,
                )
            ]
        )
    return out.getvalue()


def timeline_csv(session: ServiceSession) -> str:
    """t, present (share of the bin with the customer's face), valence, one column per label; empty cells
    where no usable customer face was seen."""
    timeline = (session.analysis or {}).get("timeline") or {"t": [], "probabilities": {}}
    labels = list(timeline["probabilities"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["t", "present", "valence", *labels])
    for i, t in enumerate(timeline["t"]):
        writer.writerow(
            [
                t,
                timeline["present"][i],
                safe_cell(timeline["valence"][i]),
                *(safe_cell(timeline["probabilities"][k][i]) for k in labels),
            ]
        )
    return out.getvalue()

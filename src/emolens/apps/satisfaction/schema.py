"""Customer satisfaction's tables: service sessions, numbers only (never images or video)."""

from __future__ import annotations

from emolens.apps.db import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "satisfaction",
        1,
        "service sessions",
        sql="""
        CREATE TABLE service_sessions (
            id TEXT PRIMARY KEY,                  -- random, 32 hex digits
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            location TEXT NOT NULL,
            agent TEXT NOT NULL,
            customer_ref TEXT,                    -- the business's own reference (a ticket number), optional
            source TEXT NOT NULL,                 -- live | video | cli
            status TEXT NOT NULL,                 -- open | recording | processing | done | failed
            created_at TEXT NOT NULL,
            started_at TEXT NOT NULL,             -- UTC; the live recording's start, else the creation time
            ended_at TEXT,
            frames INTEGER NOT NULL DEFAULT 0,
            duration REAL,
            score REAL,                           -- 0..100, NULL when the signal was too thin (see reason)
            confidence REAL,
            reason TEXT,
            error TEXT,
            analysis TEXT                         -- JSON: explanation, timeline, customer, details
        );
        CREATE INDEX service_sessions_user_started ON service_sessions(user_id, started_at);
        CREATE INDEX service_sessions_started ON service_sessions(started_at);
    """,
    ),
    Migration(
        "satisfaction",
        2,
        "the model that read each session",
        sql="ALTER TABLE service_sessions ADD COLUMN model_sha256 TEXT;  -- sha256 of the model.onnx that read it",
    ),
)

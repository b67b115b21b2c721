"""The journal's tables. Only derived numbers are stored; a photo only when the user keeps it, a 48x48 gray face
crop only when the user contributes it."""

from __future__ import annotations

from emolens.apps.db import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "journal",
        1,
        "check-ins and tags",
        sql="""
        CREATE TABLE journal_checkins (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,              -- UTC, ISO 8601
            local_time TEXT NOT NULL,              -- the user's wall clock (no offset): days and weekdays
            source TEXT NOT NULL CHECK (source IN ('camera', 'photo', 'manual')),
            shares TEXT NOT NULL,                  -- JSON {emotion: share}: the model's reading, or the mood
            emotion TEXT NOT NULL,                 -- the emotion read (top share)
            confidence REAL,                       -- mean top probability per frame; NULL for a mood
            frames INTEGER NOT NULL DEFAULT 0,     -- frames in which a face was found
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX journal_checkins_user_time ON journal_checkins(user_id, local_time);
        CREATE TABLE journal_tags (
            checkin_id INTEGER NOT NULL REFERENCES journal_checkins(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (checkin_id, tag)
        ) WITHOUT ROWID;
    """,
    ),
    Migration(
        "journal",
        2,
        "personal baseline, corrections, kept photos",
        sql="""
        ALTER TABLE journal_checkins ADD COLUMN adjusted TEXT;    -- JSON shares relative to the baseline
        ALTER TABLE journal_checkins ADD COLUMN corrected TEXT;   -- the user's correction of the emotion
        ALTER TABLE journal_checkins ADD COLUMN image_file TEXT;  -- kept photo, relative to data_dir (opt-in)
        CREATE TABLE journal_baselines (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            probabilities TEXT NOT NULL,           -- JSON mean probabilities of the relaxed face
            frames INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
    """,
    ),
    Migration(
        "journal",
        3,
        "idempotency keys of check-ins",
        sql="""
        ALTER TABLE journal_checkins ADD COLUMN idempotency_key TEXT;  -- a client's retry key (Idempotency-Key)
        CREATE UNIQUE INDEX journal_checkins_idempotency ON journal_checkins(user_id, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
    """,
    ),
    Migration(
        "journal",
        4,
        "check-ins read on the user's device (source 'device')",
        # SQLite cannot change a CHECK in place: rebuild the table. Dropping it with foreign keys on deletes
        # the tags (ON DELETE CASCADE), so they are kept aside and put back; the new table keeps every id.
        sql="""
        CREATE TEMP TABLE journal_tags_kept AS SELECT checkin_id, tag FROM journal_tags;
        CREATE TABLE journal_checkins_v4 (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            local_time TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('camera', 'photo', 'manual', 'device')),
            shares TEXT NOT NULL,
            emotion TEXT NOT NULL,
            confidence REAL,
            frames INTEGER NOT NULL DEFAULT 0,
            note TEXT NOT NULL DEFAULT '',
            adjusted TEXT,
            corrected TEXT,
            image_file TEXT,
            idempotency_key TEXT
        );
        INSERT INTO journal_checkins_v4 (id, user_id, created_at, local_time, source, shares, emotion, confidence,
            frames, note, adjusted, corrected, image_file, idempotency_key)
            SELECT id, user_id, created_at, local_time, source, shares, emotion, confidence,
            frames, note, adjusted, corrected, image_file, idempotency_key FROM journal_checkins;
        DROP TABLE journal_checkins;
        ALTER TABLE journal_checkins_v4 RENAME TO journal_checkins;
        CREATE INDEX journal_checkins_user_time ON journal_checkins(user_id, local_time);
        CREATE UNIQUE INDEX journal_checkins_idempotency ON journal_checkins(user_id, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        INSERT INTO journal_tags (checkin_id, tag) SELECT checkin_id, tag FROM journal_tags_kept;
        DROP TABLE journal_tags_kept;
        """,
    ),
    Migration(
        "journal",
        5,
        "personal adaptation, contributed crops, the model of each reading",
        sql="""
        ALTER TABLE journal_checkins ADD COLUMN personal TEXT;       -- JSON shares after the personal adaptation
        ALTER TABLE journal_checkins ADD COLUMN corrected_at TEXT;   -- UTC: when the correction was made
        ALTER TABLE journal_checkins ADD COLUMN model_sha256 TEXT;   -- the model that read it (NULL: a mood)
        ALTER TABLE journal_baselines ADD COLUMN model_sha256 TEXT;
        CREATE TABLE journal_adaptation (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            enabled INTEGER NOT NULL DEFAULT 1,
            calibration TEXT,                      -- JSON {labels, bias, scale}: numbers only; NULL: none yet
            corrections INTEGER NOT NULL DEFAULT 0,  -- corrections the calibration was fitted on
            evaluation TEXT,                       -- JSON cross-validated accuracy before/after
            fitted_at TEXT,
            reset_at TEXT                          -- corrections made before this no longer teach it
        );
        CREATE TABLE journal_contributions (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            checkin_id INTEGER NOT NULL UNIQUE REFERENCES journal_checkins(id) ON DELETE CASCADE,
            crop BLOB NOT NULL,                    -- 48x48 gray pixels (2304 bytes, row by row): the model's input
            model_sha256 TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX journal_contributions_user ON journal_contributions(user_id);
    """,
    ),
)

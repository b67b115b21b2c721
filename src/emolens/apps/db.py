"""SQLite storage shared by the apps: one file, WAL mode, foreign keys, versioned migrations.

    db = open_database(data_dir / "emolens.db", migrations=[*accounts.MIGRATIONS, *journal.MIGRATIONS])
    with db.write() as conn:                 # BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)
        conn.execute("INSERT INTO ...", (...))
    with db.read() as conn:                  # one consistent snapshot
        rows = conn.execute("SELECT ...").fetchall()

Each app owns a list of `Migration`s numbered 1, 2, 3 ... under its own name; the
`schema_versions` table remembers how far each app's schema has come, so apps add
migrations independently. Migrations are applied in the order they are given (an
app that references `users` comes after `accounts`), each app's in version order,
all of them in one transaction: a failed migration leaves the file as it was.

Every connection has foreign keys on, a busy timeout (writers wait for each other
instead of failing), `synchronous=FULL` (a commit is on disk when it returns) and
`secure_delete` (deleted rows are overwritten, not left in free pages). Connections
are short-lived: one per `read()`/`write()`, so the handle is safe across threads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "emolens.db"


class SchemaError(RuntimeError):
    """The file's schema cannot be used by this version of emolens (the message says why)."""


@dataclass(frozen=True)
class Migration:
    """One step of an app's schema: `sql` (one or more statements) and/or `apply(conn)` for data changes."""

    app: str
    version: int
    name: str
    sql: str = ""
    apply: Callable[[sqlite3.Connection], None] | None = None

    def to_dict(self) -> dict[str, object]:
        return {"app": self.app, "version": self.version, "name": self.name}


def split_sql(script: str) -> list[str]:
    """A script -> complete statements (sqlite3's execute() runs one at a time; executescript() commits)."""
    statements, start = [], 0
    for i, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : i + 1]):
            statements.append(script[start : i + 1].strip())
            start = i + 1
    rest = "\n".join(line for line in script[start:].splitlines() if not line.strip().startswith("--")).strip()
    if rest:
        raise ValueError(f"incomplete SQL statement at the end of a migration: {rest[:80]!r}")
    return [s for s in statements if s]


def utc_now() -> str:
    """ISO 8601 UTC timestamp with seconds, e.g. 2026-05-01T08:30:00Z (sorts as text)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Database:
    """A handle on one SQLite file: configured connections and transactions. Holds no open connection."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    def connect(self) -> sqlite3.Connection:
        """A new connection in autocommit mode (transactions are explicit), rows as sqlite3.Row."""
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE takes the write lock up front, so no upgrade deadlocks)."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same snapshot."""
        conn = self.connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        finally:
            conn.close()

    def versions(self) -> dict[str, int]:
        """App name -> schema version in the file ({} for a new file)."""
        with self.read() as conn:
            return _versions(conn)

    def migrate(self, migrations: Sequence[Migration]) -> list[Migration]:
        """Apply the migrations the file lacks, all in one transaction; returns those applied."""
        plan = _check_plan(migrations)
        with self.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (app TEXT NOT NULL, version INTEGER NOT NULL, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (app, version))"
            )
            have = _versions(conn)
            for app, latest in _latest(plan).items():
                if have.get(app, 0) > latest:
                    raise SchemaError(
                        f"{self.path}: the {app!r} schema is at version {have[app]}, newer than the "
                        f"{latest} this emolens knows: upgrade emolens (pip install -U emolens)"
                    )
            applied = [m for m in plan if m.version > have.get(m.app, 0)]
            for m in applied:
                log.info("migrating %s: %s v%d (%s)", self.path.name, m.app, m.version, m.name)
                for statement in split_sql(m.sql):
                    conn.execute(statement)
                if m.apply is not None:
                    m.apply(conn)
                conn.execute(
                    "INSERT INTO schema_versions (app, version, name, applied_at) VALUES (?, ?, ?, ?)",
                    (m.app, m.version, m.name, utc_now()),
                )
            if applied:
                problems = conn.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise SchemaError(
                        f"migration broke foreign keys in {self.path}: {[tuple(p) for p in problems][:5]}"
                    )
        return applied

    def integrity_check(self) -> str:
        """'ok', or SQLite's description of the damage."""
        conn = self.connect()
        try:
            return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        finally:
            conn.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (after deletions: no old pages left in the WAL)."""
        conn = self.connect()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()


def _versions(conn: sqlite3.Connection) -> dict[str, int]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'").fetchone()
    if not exists:
        return {}
    return {row[0]: row[1] for row in conn.execute("SELECT app, MAX(version) FROM schema_versions GROUP BY app")}


def _latest(plan: Iterable[Migration]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in plan:
        out[m.app] = max(out.get(m.app, 0), m.version)
    return out


def _check_plan(migrations: Sequence[Migration]) -> list[Migration]:
    """Keep the apps in the given order; within an app, versions must run 1, 2, 3 ... without gaps."""
    order: list[str] = []
    by_app: dict[str, list[Migration]] = {}
    for m in migrations:
        if m.app not in by_app:
            order.append(m.app)
            by_app[m.app] = []
        by_app[m.app].append(m)
    plan: list[Migration] = []
    for app in order:
        steps = sorted(by_app[app], key=lambda m: m.version)
        if [m.version for m in steps] != list(range(1, len(steps) + 1)):
            raise ValueError(
                f"migrations of {app!r} must be numbered 1..{len(steps)} without gaps or repeats, "
                f"got {[m.version for m in steps]}"
            )
        plan.extend(steps)
    return plan


def open_database(path: str | Path, migrations: Sequence[Migration] = (), *, busy_timeout_ms: int = 10_000) -> Database:
    """Create the file when missing (private: 0600 in a 0700 folder), switch on WAL, apply migrations."""
    path = Path(path).expanduser()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite gives -wal/-shm the same mode
    db = Database(path, busy_timeout_ms=busy_timeout_ms)
    conn = db.connect()
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    finally:
        conn.close()
    if mode.lower() != "wal":
        log.warning("%s: SQLite refused WAL mode (journal_mode=%s); writers will block readers", path, mode)
    db.migrate(migrations)
    return db

"""What an app tells the rest of emolens about itself: its tables and what an account's deletion must remove.

An app (journal, satisfaction, ...) defines one `AppSpec` in its app.py; apps/registry.py lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emolens.apps.db import Database, Migration

# (db, user_id, data_dir or None) -> None: removes the user's data that rows do not hold (files), before the
# account's rows go (every app table references users ON DELETE CASCADE).
DeleteHook = Callable[[Database, int, "Path | None"], None]


@dataclass(frozen=True)
class AppSpec:
    """name: the app's name in schema_versions; migrations: numbered 1, 2, 3 ... (apps/db.py);
    delete_account: the app's part of deleting an account, None when its rows are all it keeps."""

    name: str
    migrations: tuple[Migration, ...]
    delete_account: DeleteHook | None = None

"""The installed apps: their migrations in the order they run, and account deletion across all of them.

    db = open_database(settings.db_path, all_migrations())
    delete_account(db, user.id, data_dir=settings.data_dir)

Accounts come first (every app's tables reference users). A new app defines an AppSpec in its
own app.py and adds one line to APPS.
"""

from __future__ import annotations

import logging
from pathlib import Path

from emolens.apps import accounts
from emolens.apps.db import Database, Migration
from emolens.apps.journal.app import APP as JOURNAL
from emolens.apps.satisfaction.app import APP as SATISFACTION
from emolens.apps.spec import AppSpec

log = logging.getLogger(__name__)

APPS: tuple[AppSpec, ...] = (JOURNAL, SATISFACTION)


def all_migrations() -> list[Migration]:
    """Accounts' migrations, then each app's, as open_database applies them."""
    return [*accounts.MIGRATIONS, *(m for app in APPS for m in app.migrations)]


def delete_account(db: Database, user_id: int, *, data_dir: Path | None = None) -> bool:
    """The account and everything in it: each app's files (its hook), then the rows of every app (cascade)
    and the WAL's copies of them. False when there was no such account."""
    for app in APPS:
        if app.delete_account is not None:
            app.delete_account(db, user_id, data_dir)
    deleted = accounts.delete_user(db, user_id)
    log.info("deleted account %d and all its data", user_id)
    return deleted

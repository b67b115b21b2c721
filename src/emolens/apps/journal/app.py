"""The mood journal as an installed app (apps/registry.py): its tables and its part of deleting an account."""

from __future__ import annotations

import shutil
from pathlib import Path

from emolens.apps.db import Database
from emolens.apps.journal.schema import MIGRATIONS
from emolens.apps.journal.store import user_images_dir
from emolens.apps.spec import AppSpec


def delete_kept_photos(db: Database, user_id: int, data_dir: Path | None) -> None:
    """The user's kept photos (the rows go with the account)."""
    if data_dir is not None:
        shutil.rmtree(user_images_dir(data_dir, user_id), ignore_errors=True)


APP = AppSpec("journal", MIGRATIONS, delete_account=delete_kept_photos)

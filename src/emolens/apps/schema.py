"""Every app's migrations in the order they must run: accounts first (other tables reference users).

An app adds its tuple of `Migration`s here; `open_database(path, all_migrations())` applies
what a file lacks. Imports stay inside the function so importing this module is free.
"""
from __future__ import annotations

from emolens.apps.db import Migration


def all_migrations() -> list[Migration]:
    from emolens.apps import accounts
    from emolens.apps.journal.schema import MIGRATIONS as journal
    from emolens.apps.satisfaction import store as satisfaction

    return [*accounts.MIGRATIONS, *journal, *satisfaction.MIGRATIONS]

"""Customer satisfaction as an installed app (apps/registry.py): its tables. It keeps no files (numbers only,
never images), so an account's deletion needs nothing beyond its rows, which go with the account."""

from __future__ import annotations

from emolens.apps.satisfaction.schema import MIGRATIONS
from emolens.apps.spec import AppSpec

APP = AppSpec("satisfaction", MIGRATIONS)

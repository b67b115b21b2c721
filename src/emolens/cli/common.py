"""What the verb modules share: the one-line error, argument types, the account options, output helpers."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from collections.abc import Sequence
from typing import Any

from emolens.apps import accounts
from emolens.apps.db import Database, open_database
from emolens.apps.registry import all_migrations
from emolens.core.tta import parse_tta
from emolens.settings import AppSettings

FORMATTER = argparse.RawDescriptionHelpFormatter  # keeps the examples in each epilog as written


class CliError(ValueError):
    """A problem to report in one line (no traceback), exit code 2."""


def positive(value: str) -> float:
    """argparse type: a number above 0."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return number


def tta_arg(value: str) -> str:
    """argparse type: 'card' or a valid TTA list ('none', 'flip', 'flip,zoom,shift'), checked up front."""
    if value == "card":
        return value
    try:
        return ",".join(parse_tta(value)) or "none"
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def data_args(p: argparse.ArgumentParser) -> None:
    """How to read a dataset: --layout and --label-map (data, evaluate)."""
    p.add_argument(
        "--layout", default="auto", choices=["auto", "kaggle", "csv", "folder"], help="force a layout (default: detect)"
    )
    p.add_argument("--label-map", help="names | rafdb | YAML file mapping folder names to emotions")


def account_args(p: argparse.ArgumentParser, user_help: str) -> None:
    """--user and --data-dir: whose data, in which emolens.db (the web app's database)."""
    p.add_argument("--user", default=os.environ.get("EMOLENS_USER") or None, help=user_help)
    p.add_argument("--data-dir", help="folder of emolens.db (default: $EMOLENS_DATA_DIR or ~/.local/share/emolens)")


def settings(args: argparse.Namespace, **overrides: Any) -> AppSettings:
    """The apps' settings: EMOLENS_* variables, then --data-dir and the given flags."""
    return AppSettings.from_env(data_dir=args.data_dir, **overrides)


def database(settings: AppSettings) -> Database:
    """The apps' database, created and migrated on first use."""
    return open_database(settings.db_path, all_migrations())


def username(args: argparse.Namespace) -> str:
    return args.user or getpass.getuser()


def local_account(db: Database, args: argparse.Namespace) -> accounts.User:
    """The --user account, created without a password on first use."""
    try:
        return accounts.local_user(db, username(args), hasher=accounts.password_hasher())
    except accounts.AccountError as exc:
        raise CliError(f"--user: {exc}") from None


def print_doc(doc: Any, as_json: bool, text: str) -> None:
    """The command's result: JSON with --json, else the readable text."""
    print(json.dumps(doc, indent=2) if as_json else text)


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns; the last column runs free (no trailing spaces)."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[-1] for row in rows).rstrip()

"""`emolens journal checkin | calibrate | summary | list | correct | delete | export | password | delete-account`
(and `adaptation | contributions`: cli/journal_feedback.py).

The journal of a local account (--user, default $EMOLENS_USER, else your login name; created
without a password on first use) in the same database as the web app: $EMOLENS_DATA_DIR/emolens.db
(or --data-dir; default ~/.local/share/emolens). `emolens journal password` sets a password
so the same journal opens on the web pages. Nothing here imports torch or FastAPI.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from emolens.apps import accounts
from emolens.apps.db import Database
from emolens.apps.journal import checkin as usecase
from emolens.apps.journal import store
from emolens.apps.journal.checkin import baseline_from_images, checkin_from_images
from emolens.apps.journal.export import export_csv, export_json
from emolens.apps.journal.readings import NoFaceFound, manual_reading
from emolens.apps.journal.summary import format_summary, summarize
from emolens.apps.registry import delete_account
from emolens.cli.common import FORMATTER, CliError, account_args, database, local_account, print_doc, settings
from emolens.cli.engine import analyzer as build_analyzer
from emolens.cli.engine import engine_args, friendly
from emolens.cli.journal_feedback import add_verbs as feedback_verbs
from emolens.inference import versions

EXAMPLES = """examples:
  emolens journal calibrate relaxed1.jpg relaxed2.jpg relaxed3.jpg   # your resting face, once
  emolens journal checkin selfie.jpg --note "slept well" --tags sleep,exercise
  emolens journal checkin --mood happy --note "good talk with Sam"
  emolens journal summary --days 30            # indexes, streak, patterns, suggestions
  emolens journal summary --days 365 --by month --json
  emolens journal list --limit 10
  emolens journal correct 42 neutral           # the reading was wrong: your word is kept, and teaches
  emolens journal adaptation                   # what your corrections taught your personal adaptation
  emolens journal export --format csv --out journal.csv
  emolens journal password                     # use the same journal on the web pages

the journal belongs to the account --user (default: $EMOLENS_USER, else your login name) in
$EMOLENS_DATA_DIR/emolens.db (default ~/.local/share/emolens). Only numbers are stored, never the
photo unless you pass --keep-image (nor its 48x48 face crop unless --contribute). Faces are read by the
active model (`emolens models use`) unless --model. emolens is not a medical device."""


LEAF_EXAMPLES = {
    "list": """examples:
  emolens journal list                      # the newest 20 check-ins
  emolens journal list --limit 5 --json     # as JSON, e.g. for jq""",
    "correct": """examples:
  emolens journal correct 42 neutral        # check-in #42 was neutral: kept next to the reading, and it
                                            # teaches your personal adaptation (emolens journal adaptation)
  emolens journal correct 42 --clear        # back to the reading""",
    "delete": """examples:
  emolens journal delete 42                 # check-in #42, its kept photo and contributed crop, if any""",
    "export": """examples:
  emolens journal export > journal.json
  emolens journal export --format csv --out journal.csv   # written with mode 0600""",
    "password": """examples:
  emolens journal password                  # asks twice; then sign in at /login on `emolens serve`
  emolens journal password --user robin""",
    "delete-account": """examples:
  emolens journal delete-account --yes      # every check-in, kept photo, baseline and the account""",
}


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    j = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    verbs = j.add_subparsers(dest="journal_command", metavar="VERB", required=True)
    _reading_verbs(verbs)
    _record_verbs(verbs)
    feedback_verbs(verbs)


def _reading_verbs(verbs: argparse._SubParsersAction) -> None:
    """The verbs that read faces or show readings: checkin, calibrate, summary, list."""
    fmt = FORMATTER
    c = verbs.add_parser("checkin", help="check in with a photo, or --mood", epilog=EXAMPLES, formatter_class=fmt)
    c.add_argument("photo", metavar="PHOTO", nargs="?", help="a photo of your face (omit with --mood)")
    c.add_argument("--mood", help="pick a mood instead of a photo: angry, disgust, fear, happy, sad, surprise, neutral")
    c.add_argument("--note", default="", help="a short note")
    c.add_argument("--tags", default="", help="comma-separated, e.g. sleep,work,exercise")
    c.add_argument("--keep-image", action="store_true", help="keep the photo with the check-in (default: numbers only)")
    c.add_argument(
        "--contribute",
        action="store_true",
        help="give this check-in's 48x48 gray face crop (never the photo) to improve the shared model; "
        "it teaches once you correct the check-in (default: off)",
    )
    c.add_argument("--json", action="store_true", help="print the check-in as JSON")
    _common(c, engine=True)
    c.set_defaults(handler=cmd_checkin)

    b = verbs.add_parser(
        "calibrate",
        help="your relaxed face in a few photos becomes your baseline",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    b.add_argument("photos", metavar="PHOTO", nargs="+", help="photos of your relaxed, resting face")
    _common(b, engine=True)
    b.set_defaults(handler=cmd_calibrate)

    s = verbs.add_parser(
        "summary", help="indexes, streak, patterns and suggestions", epilog=EXAMPLES, formatter_class=fmt
    )
    s.add_argument("--days", type=int, default=30, help="the last N days, today included (default: %(default)s)")
    s.add_argument(
        "--by", choices=["day", "week", "month"], default="week", help="series buckets (default: %(default)s)"
    )
    s.add_argument("--json", action="store_true", help="print the summary as JSON (the API's shape)")
    _common(s)
    s.set_defaults(handler=cmd_summary)

    ls = verbs.add_parser(
        "list", help="recent check-ins, newest first", epilog=LEAF_EXAMPLES["list"], formatter_class=fmt
    )
    ls.add_argument(
        "--limit", type=int, default=20, metavar="N", help="show the newest N check-ins (default: %(default)s)"
    )
    ls.add_argument("--json", action="store_true", help="print a JSON list (the API's check-in shape) instead of lines")
    _common(ls)
    ls.set_defaults(handler=cmd_list)


def _record_verbs(verbs: argparse._SubParsersAction) -> None:
    """The verbs that change or hand out what is stored: correct, delete, export, password, delete-account."""
    fmt = FORMATTER
    k = verbs.add_parser(
        "correct",
        help="correct a check-in's emotion (or --clear the correction)",
        epilog=LEAF_EXAMPLES["correct"],
        formatter_class=fmt,
    )
    k.add_argument("id", type=int, help="the check-in's number (#42 in `emolens journal list`)")
    k.add_argument("emotion", nargs="?", help="the emotion it really was")
    k.add_argument("--clear", action="store_true", help="remove the correction")
    _common(k)
    k.set_defaults(handler=cmd_correct)

    d = verbs.add_parser(
        "delete", help="delete one check-in (and its kept photo)", epilog=LEAF_EXAMPLES["delete"], formatter_class=fmt
    )
    d.add_argument("id", type=int, help="the check-in's number (#42 in `emolens journal list`)")
    _common(d)
    d.set_defaults(handler=cmd_delete)

    x = verbs.add_parser(
        "export", help="everything as JSON or CSV", epilog=LEAF_EXAMPLES["export"], formatter_class=fmt
    )
    x.add_argument("--format", choices=["json", "csv"], default="json", help="(default: %(default)s)")
    x.add_argument("--out", metavar="FILE", help="write here, readable by you only (default: standard output)")
    _common(x)
    x.set_defaults(handler=cmd_export)

    p = verbs.add_parser(
        "password",
        help="set the account's password, to open the journal on the web pages",
        epilog=LEAF_EXAMPLES["password"],
        formatter_class=fmt,
    )
    _common(p)
    p.set_defaults(handler=cmd_password)

    z = verbs.add_parser(
        "delete-account",
        help="delete the account and all its data (no undo)",
        epilog=LEAF_EXAMPLES["delete-account"],
        formatter_class=fmt,
    )
    z.add_argument("--yes", action="store_true", help="really delete")
    _common(z)
    z.set_defaults(handler=cmd_delete_account)


def _common(p: argparse.ArgumentParser, *, engine: bool = False) -> None:
    account_args(p, "account (default: $EMOLENS_USER, else your login name)")
    if engine:
        engine_args(p, detect_size=1024, model=ACTIVE)


ACTIVE = "active"  # --model's default in the journal: the data folder's active model (`emolens models use`)


def _analyzer(args: argparse.Namespace, data_dir: Path):  # noqa: ANN202
    """The runtime, reading with the active model unless --model names one."""
    if args.model == ACTIVE:
        try:
            args.model = versions.served_model(data_dir, None)
        except versions.VersionError as exc:
            raise CliError(str(exc)) from None
    return build_analyzer(args)


def _open(args: argparse.Namespace) -> tuple[Database, accounts.User, Path]:
    """(database, the local user, data_dir), creating the file and the account on first use."""
    config = settings(args)
    db = database(config)
    return db, local_account(db, args), config.data_dir


def format_checkin(c: dict[str, Any]) -> str:
    conf = "" if c["confidence"] is None else f", confidence {c['confidence']:.0%}"
    fixed = f" (corrected; read as {c['emotion']})" if c["corrected"] else ""
    extras = [
        f"tags {', '.join(c['tags'])}" if c["tags"] else "",
        "photo kept" if c["has_image"] else "",
        "relative to your baseline" if c["adjusted"] else "",
        "personally adapted" if c.get("personal") else "",
        "face crop contributed" if c.get("contributed") else "",
    ]
    line = f"#{c['id']} {c['local_time'].replace('T', ' ')[:16]} {c['source']}: {c['final_emotion']}{fixed}{conf}"
    tail = "; ".join(e for e in extras if e)
    return line + (f" [{tail}]" if tail else "") + (f"\n    {c['note']}" if c["note"] else "")


@friendly
def cmd_checkin(args: argparse.Namespace) -> int:
    if bool(args.photo) == bool(args.mood):
        raise CliError("give a PHOTO or --mood (one of them)")
    if args.mood and args.contribute:
        raise CliError("--contribute gives a photo's face crop: a picked --mood has none")
    if args.photo and not Path(args.photo).is_file():
        raise CliError(f"{args.photo}: no such file")
    db, user, data_dir = _open(args)
    try:
        if args.mood:
            checkin = store.add_checkin(
                db,
                user.id,
                manual_reading(args.mood.strip().lower()),
                source="manual",
                note=args.note,
                tags=args.tags,
                data_dir=data_dir,
            )
            notice = None
        else:
            analyzer = _analyzer(args, data_dir)
            checkin, notice = checkin_from_images(
                db,
                analyzer.analyze,
                user.id,
                [analyzer.load(args.photo)],
                note=args.note,
                tags=args.tags,
                keep_image=args.keep_image,
                data_dir=data_dir,
                model_sha256=analyzer.model_sha256,
                contribute=args.contribute,
                crop=analyzer.model_crop,
            )
    except (NoFaceFound, store.JournalError) as exc:
        raise CliError(f"{args.photo or args.mood}: {exc}") from None
    except ValueError as exc:  # an unknown mood
        raise CliError(str(exc)) from None
    doc = {**checkin.to_dict(), "notice": notice}
    print_doc(
        doc,
        args.json,
        f"saved for {user.username}: "
        + format_checkin(doc)
        + (f"\n{args.photo}: {notice} (the person checking in)" if notice else ""),
    )
    return 0


@friendly
def cmd_calibrate(args: argparse.Namespace) -> int:
    for p in args.photos:
        if not Path(p).is_file():
            raise CliError(f"{p}: no such file")
    db, user, data_dir = _open(args)
    analyzer = _analyzer(args, data_dir)
    images = [analyzer.load(p) for p in args.photos]
    try:
        baseline, notice = baseline_from_images(
            db, analyzer.analyze, user.id, images, model_sha256=analyzer.model_sha256
        )
    except NoFaceFound as exc:
        raise CliError(str(exc)) from None
    top = sorted(baseline.probabilities.items(), key=lambda kv: -kv[1])[:3]
    print(
        f"baseline of {user.username} from {baseline.frames} photo(s) with a face: resting face reads "
        + ", ".join(f"{k} {v:.0%}" for k, v in top)
        + "; later photo check-ins are read relative to it"
    )
    if notice:
        print(f"note: {notice}")
    if baseline.warning:  # saved all the same (some resting faces do look sad); the user decides
        print(
            f"emolens journal: warning: {baseline.warning}: emolens journal calibrate RELAXED_PHOTO...", file=sys.stderr
        )
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    db, user, _ = _open(args)
    s = summarize(db, user.id, days=args.days, group=args.by)
    print_doc(s.to_dict(), args.json, format_summary(s))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    db, user, _ = _open(args)
    docs = [c.to_dict() for c in store.list_checkins(db, user.id, limit=args.limit, newest_first=True)]
    print_doc(docs, args.json, "\n".join(format_checkin(d) for d in docs) or f"no check-ins for {user.username} yet")
    return 0


def cmd_correct(args: argparse.Namespace) -> int:
    if bool(args.emotion) == args.clear:
        raise CliError("give the EMOTION it was, or --clear")
    db, user, _ = _open(args)
    try:
        c = usecase.edit_checkin(db, user.id, args.id, corrected=None if args.clear else args.emotion.lower())
    except store.JournalError as exc:
        raise CliError(str(exc)) from None
    if c is None:
        raise CliError(f"no check-in {args.id} for {user.username} (see `emolens journal list`)")
    print(format_checkin(c.to_dict()))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    db, user, data_dir = _open(args)
    if not usecase.delete_checkin(db, user.id, args.id, data_dir=data_dir):
        raise CliError(f"no check-in {args.id} for {user.username} (see `emolens journal list`)")
    print(f"deleted check-in {args.id}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    db, user, _ = _open(args)
    text = export_csv(db, user.id) if args.format == "csv" else json.dumps(export_json(db, user.id), indent=2) + "\n"
    if args.out:
        out = Path(args.out)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: private file
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        print(f"wrote {out} ({args.format})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    db, user, _ = _open(args)
    first = getpass.getpass(f"new password for {user.username}: ")
    if first != getpass.getpass("again: "):
        raise CliError("the two passwords differ")
    try:
        accounts.set_password(db, user.id, first, hasher=accounts.password_hasher())
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"password set: sign in as {user.username} at /login on `emolens serve`")
    return 0


def cmd_delete_account(args: argparse.Namespace) -> int:
    if not args.yes:
        raise CliError("this deletes the account and all its data, with no undo: add --yes")
    db, user, data_dir = _open(args)
    delete_account(db, user.id, data_dir=data_dir)  # every app's data (apps/registry.py)
    print(f"deleted the account {user.username} and all its data")
    return 0

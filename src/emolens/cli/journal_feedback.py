"""`emolens journal adaptation | contributions`: what your corrections teach (docs/feedback.md).

Thin over apps.journal.personal (your per-person calibration: status, on/off, reset) and
apps.journal.contributions (the 48x48 face crops you chose to give: list, withdraw).
"""

from __future__ import annotations

import argparse
from typing import Any

from emolens.apps.journal import contributions, personal
from emolens.cli.common import FORMATTER, CliError, account_args, database, local_account, print_doc, settings, table

ADAPTATION_EXAMPLES = """examples:
  emolens journal adaptation                # how many corrections it rests on, before/after on them
  emolens journal adaptation --off          # later check-ins are read as the model reads them
  emolens journal adaptation --on
  emolens journal adaptation --reset        # forget what it learned (your corrections stay in the journal)

every correction of a photo or camera check-in (`emolens journal correct ID EMOTION`) teaches a small
calibration of the model's outputs for you alone: numbers only, no pictures. On by default."""

CONTRIBUTIONS_EXAMPLES = """examples:
  emolens journal checkin selfie.jpg --contribute   # give this check-in's 48x48 gray face crop
  emolens journal contributions                     # what you gave
  emolens journal contributions --delete 3          # withdraw one
  emolens journal contributions --delete-all

a contributed crop teaches the shared model (`emolens finetune`) once its check-in carries your
correction. Off by default; never the photo."""


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    a = verbs.add_parser(
        "adaptation",
        help="your personal adaptation: status, --on, --off, --reset",
        epilog=ADAPTATION_EXAMPLES,
        formatter_class=FORMATTER,
    )
    switch = a.add_mutually_exclusive_group()
    switch.add_argument("--on", action="store_true", help="adapt later check-ins (the default)")
    switch.add_argument("--off", action="store_true", help="stop adapting later check-ins (what it learned is kept)")
    switch.add_argument("--reset", action="store_true", help="forget what it learned")
    a.add_argument("--json", action="store_true", help="print the status as JSON (the API's shape)")
    account_args(a, "account (default: $EMOLENS_USER, else your login name)")
    a.set_defaults(handler=cmd_adaptation)

    c = verbs.add_parser(
        "contributions",
        help="the face crops you contributed: list, --delete ID, --delete-all",
        epilog=CONTRIBUTIONS_EXAMPLES,
        formatter_class=FORMATTER,
    )
    gone = c.add_mutually_exclusive_group()
    gone.add_argument("--delete", type=int, metavar="ID", help="withdraw one contribution")
    gone.add_argument("--delete-all", action="store_true", help="withdraw every contribution")
    c.add_argument("--json", action="store_true", help="print a JSON list")
    account_args(c, "account (default: $EMOLENS_USER, else your login name)")
    c.set_defaults(handler=cmd_contributions)


def format_adaptation(d: dict[str, Any]) -> str:
    state = "on" if d["enabled"] else "off"
    if not d["corrections"]:
        return f"personal adaptation: {state}, no corrections yet: readings are the model's own"
    text = f"personal adaptation: {state}, rests on {d['corrections']} correction(s)"
    e = d["evaluation"]
    if e:
        text += (
            f"; on your corrected check-ins (each predicted without itself, {e['folds']}-fold): "
            f"{e['before']:.0%} right before, {e['after']:.0%} after"
        )
    if not d["enabled"]:
        text += "\n(off: later check-ins are read as the model reads them; --on to adapt them again)"
    return text


def cmd_adaptation(args: argparse.Namespace) -> int:
    config = settings(args)
    db = database(config)
    user = local_account(db, args)
    if args.reset:
        state = personal.reset(db, user.id)
    elif args.on or args.off:
        state = personal.set_enabled(db, user.id, args.on)
    else:
        state = personal.get(db, user.id)
    doc = state.to_dict()
    again = "\nreset: it starts again from your next correction" if args.reset else ""
    print_doc(doc, args.json, format_adaptation(doc) + again)
    return 0


def cmd_contributions(args: argparse.Namespace) -> int:
    config = settings(args)
    db = database(config)
    user = local_account(db, args)
    if args.delete is not None:
        if not contributions.delete(db, user.id, args.delete):
            raise CliError(f"no contribution {args.delete} for {user.username} (see `emolens journal contributions`)")
        print(f"withdrew contribution {args.delete}")
        return 0
    if args.delete_all:
        print(f"withdrew {contributions.delete_all(db, user.id)} contribution(s)")
        return 0
    found = [c.to_dict() for c in contributions.list_contributions(db, user.id)]
    rows = [["ID", "CHECK-IN", "GIVEN", "LABEL"]] + [
        [str(c["id"]), f"#{c['checkin_id']}", c["created_at"][:16], c["label"] or "(uncorrected: not used yet)"]
        for c in found
    ]
    text = table(rows) if found else f"{user.username} contributed no face crops (`checkin --contribute` gives one)"
    print_doc(found, args.json, text)
    return 0

"""`emolens models list | show | install | use | rollback | remove`: model versions in the data folder.

Installed models live in $EMOLENS_DATA_DIR/models/<name>/ with their cards; the active one is what
`emolens serve` serves when no --model is given (a running server switches at its next request).
Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emolens.cli.common import FORMATTER, CliError, print_doc, settings, table
from emolens.core.card import CardError
from emolens.inference import versions

EXAMPLES = """examples:
  emolens models list                          # shipped and installed models; * marks the active one
  emolens models show default --json           # one model's card
  emolens models install finetuned/ --name default-ft1
  emolens models use default-ft1               # a running `emolens serve` switches at its next request
  emolens models use finetuned/                # install a folder and use it, in one step
  emolens models rollback                      # back to the model active before
  emolens models remove default-ft1

models live in $EMOLENS_DATA_DIR/models (default ~/.local/share/emolens/models); `emolens serve
--model X` pins a model instead. Every stored reading records its model's sha256."""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    m = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    verbs = m.add_subparsers(dest="models_command", metavar="VERB", required=True)
    for verb, text in (
        ("list", "installed and shipped models, the active one marked"),
        ("show", "one model's card"),
        ("install", "copy a model folder (model.onnx + card.json) into the data folder"),
        ("use", "make a model the active one (installs a folder first)"),
        ("rollback", "make the previously active model active again"),
        ("remove", "delete an installed model (not the active one)"),
    ):
        v = verbs.add_parser(verb, help=text, epilog=EXAMPLES, formatter_class=FORMATTER)
        if verb in ("show", "use", "remove"):
            v.add_argument("name", metavar="NAME", help="a model name (`emolens models list`)" + _also(verb))
        if verb == "install":
            v.add_argument("folder", metavar="FOLDER", help="a folder with model.onnx + card.json (finetune's --out)")
        if verb in ("install", "use"):
            v.add_argument("--name", dest="as_name", help="install under this name (default: the card's name)")
        v.add_argument("--data-dir", help="the data folder (default: $EMOLENS_DATA_DIR or ~/.local/share/emolens)")
        if verb in ("list", "show", "use", "rollback", "install"):
            v.add_argument("--json", action="store_true", help="print JSON")
        v.set_defaults(handler=HANDLERS[verb])


def _also(verb: str) -> str:
    return ", or a model folder to install and use" if verb == "use" else ""


def _data_dir(args: argparse.Namespace) -> Path:
    return settings(args).data_dir


def _line(v: versions.ModelVersion) -> str:
    acc = v.card.metrics.get("accuracy")
    where = "shipped" if v.shipped else "installed"
    score = f"accuracy {acc:.4f} on {v.card.metrics.get('split', '?')}" if isinstance(acc, (int, float)) else ""
    return f"{v.name} ({where}, {v.card.arch}, sha256 {v.sha256[:12]}{', ' + score if score else ''})"


def cmd_list(args: argparse.Namespace) -> int:
    found = versions.list_models(_data_dir(args))
    rows = [["", "NAME", "WHERE", "SHA256", "ACCURACY", "BASE"]]
    for v in found:
        d = v.to_dict()
        acc = f"{d['accuracy']:.4f}" if isinstance(d["accuracy"], (int, float)) else "-"
        base = (d["base"] or {}).get("name", "-") if isinstance(d["base"], dict) else "-"
        rows.append(
            ["*" if v.active else "", v.name, "shipped" if v.shipped else "installed", v.sha256[:12], acc, base]
        )
    print_doc([v.to_dict() for v in found], args.json, table(rows))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    v = _guard(lambda: versions.show(_data_dir(args), args.name))
    doc = {**v.to_dict(), "card": v.card.to_dict()}
    text = "\n".join(
        [
            ("* " if v.active else "") + _line(v),
            f"folder: {v.path}",
            f"labels: {', '.join(v.card.labels)}",
            f"metrics: {json.dumps(v.card.metrics)}",
        ]
        + ([f"finetune: {json.dumps(v.card.train_config['finetune'])}"] if "finetune" in v.card.train_config else [])
    )
    print_doc(doc, args.json, text)
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    v = _guard(lambda: versions.install(_data_dir(args), args.folder, args.as_name))
    print_doc(v.to_dict(), args.json, f"installed {_line(v)}\nserve it: emolens models use {v.name}")
    return 0


def cmd_use(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args)
    name = args.name
    if Path(name).is_dir():  # a folder: install it first
        name = _guard(lambda: versions.install(data_dir, args.name, args.as_name)).name
    v = _guard(lambda: versions.use(data_dir, name))
    print_doc(v.to_dict(), args.json, f"active: {_line(v)}\n(a running `emolens serve` without --model switches now)")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    v = _guard(lambda: versions.rollback(_data_dir(args)))
    print_doc(v.to_dict(), args.json, f"rolled back; active: {_line(v)}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    _guard(lambda: versions.remove(_data_dir(args), args.name))
    print(f"removed {args.name}")
    return 0


def _guard(work):
    """The model store's refusals as one line (exit 2)."""
    try:
        return work()
    except (versions.VersionError, CardError) as exc:
        raise CliError(str(exc)) from None


HANDLERS = {
    "list": cmd_list,
    "show": cmd_show,
    "install": cmd_install,
    "use": cmd_use,
    "rollback": cmd_rollback,
    "remove": cmd_remove,
}

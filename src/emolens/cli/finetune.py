"""`emolens finetune`: fine-tune a model on the journal's contributed crops, mixed with FER2013 Training, gated on
PublicTest (emolens.train.finetune). Needs the [train] extra; torch loads only when this verb runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from emolens.apps.db import open_database
from emolens.apps.journal.contributions import training_crops
from emolens.apps.registry import all_migrations
from emolens.cli.common import FORMATTER, CliError, positive, settings
from emolens.inference.model_store import load_card, resolve_model_dir

GATE_REFUSED = 3  # exit code: the fine-tuned model was refused (nothing written)

EXAMPLES = """examples:
  emolens finetune --base default --out finetuned/ --data ../shared/datasets/fer2013/fer2013.zip
  emolens finetune --feedback /srv/emolens/emolens.db --base default --out ft1/ --epochs 2 --lr 0.001
  emolens models use finetuned/                # then serve it (`emolens models rollback` goes back)

learns from every journal user's contributed 48x48 crops whose check-in carries a correction (the
user's word is the label), mixed with --mix times as many FER2013 Training images so it does not
forget; evaluates before and after on FER2013 PublicTest and on --holdout of the feedback (held back
from training), and refuses (exit 3, nothing written) a model that loses more than --max-drop
accuracy points on PublicTest. The card records the base model, the feedback counts and both
evaluations. FER2013: --data, else $EMOLENS_FER2013, else the base model's own training data."""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    f = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    f.add_argument("--feedback", metavar="DB", help="the apps' database (default: $EMOLENS_DATA_DIR/emolens.db)")
    f.add_argument("--data-dir", help="the data folder whose emolens.db to read (default: ~/.local/share/emolens)")
    f.add_argument("--base", default="default", help="the model to start from: a shipped name or a model folder")
    f.add_argument("--out", required=True, help="a new folder for the fine-tuned model.onnx + card.json")
    f.add_argument("--data", help="FER2013 (zip, folder or CSV): Training to mix in, PublicTest for the gate")
    f.add_argument("--name", help="the new model's name in its card (default: <base>-ft)")
    f.add_argument("--epochs", type=int, default=3, help="passes over the mixed training set (default: 3)")
    f.add_argument("--lr", type=positive, default=0.002, help="SGD learning rate (default: 0.002)")
    f.add_argument("--batch-size", type=int, default=64, help="(default: 64)")
    f.add_argument("--mix", type=positive, default=3.0, help="FER2013 Training images per feedback crop (default: 3)")
    f.add_argument("--holdout", type=float, default=0.2, help="share of the feedback held back (default: 0.2)")
    f.add_argument("--max-drop", type=float, default=0.5, help="PublicTest accuracy points it may lose (default: 0.5)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2)")
    f.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    f.set_defaults(handler=cmd_finetune)


def _fer2013(args: argparse.Namespace) -> str:
    if args.data:
        return args.data
    if os.environ.get("EMOLENS_FER2013"):
        return os.environ["EMOLENS_FER2013"]
    card = load_card(resolve_model_dir(args.base), verify=False)
    trained_on = card.train_config.get("data") or next(
        (m.get("data") for m in card.train_config.get("members", []) if m.get("data")), None
    )
    if trained_on and Path(trained_on).exists():
        return str(trained_on)
    raise CliError("fine-tuning needs FER2013: pass --data PATH (e.g. fer2013.zip) or set EMOLENS_FER2013")


def _feedback(args: argparse.Namespace):
    from emolens.train.finetune import Feedback

    path = Path(args.feedback) if args.feedback else settings(args).db_path
    if not path.is_file():
        raise CliError(f"no database at {path}: pass --feedback with the emolens.db the journal uses")
    found = training_crops(open_database(path, all_migrations()))
    return Feedback(found.crops, found.labels, users=len(set(found.users))), path


def cmd_finetune(args: argparse.Namespace) -> int:
    from emolens.train.finetune import FinetuneConfig, GateRefused, finetune

    if not 0 < args.holdout < 1:
        raise CliError(f"--holdout must be between 0 and 1, got {args.holdout}")
    if args.epochs < 1 or args.batch_size < 1:
        raise CliError("--epochs and --batch-size must be at least 1")
    feedback, db_path = _feedback(args)
    cfg = FinetuneConfig(
        base=args.base,
        data=_fer2013(args),
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        mix=args.mix,
        holdout=args.holdout,
        max_drop=args.max_drop,
        name=args.name or "",
        seed=args.seed,
        threads=args.threads,
    )
    print(f"{len(feedback.labels)} corrected contributed crops from {feedback.users} user(s) in {db_path}")
    try:
        result = finetune(feedback, cfg, args.out)
    except GateRefused as exc:
        print(f"emolens finetune: {exc}", file=sys.stderr)
        return GATE_REFUSED
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    e = result.evaluation
    if args.json:
        print(json.dumps({"out": str(result.out), "sha256": result.card.onnx_sha256, **e}, indent=2))
        return 0
    for part, title in (("publictest", "FER2013 PublicTest"), ("feedback_heldout", "held-back feedback")):
        b, a = e[part]["before"], e[part]["after"]
        print(
            f"{title} (n={a['n']}): accuracy {b['accuracy']:.2f}% -> {a['accuracy']:.2f}%, "
            f"macro-F1 {b['macro_f1']:.2f}% -> {a['macro_f1']:.2f}%"
        )
    print(f"gate: PublicTest drop {e['gate']['publictest_drop_points']:.2f} points <= {cfg.max_drop}: passed")
    print(f"wrote {result.out}/ ({result.card.name}, sha256 {result.card.onnx_sha256[:12]})")
    print(f"serve it: emolens models use {result.out}")
    return 0

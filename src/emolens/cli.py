"""The `emolens` command. Training verbs import torch lazily; the rest never do.

Exit codes: 0 ok, 1 some inputs failed (batch went on), 2 bad usage or input.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("emolens")

EXAMPLES = {
    "data": """examples:
  emolens data ../shared/datasets/fer2013/fer2013.zip
  emolens data fer2013.csv --out reports/data
  emolens data ck_plus/ --layout folder --label-map names""",
    "train": """examples:
  emolens train --config configs/default.yaml --data ../shared/datasets/fer2013/fer2013.zip
  emolens train --data fer2013.zip --model vgg --epochs 2 --out runs/try
  emolens train --resume runs/try            # continue a stopped run
  emolens train --config configs/default.yaml --data fer2013.zip --device cuda   # on a GPU (default: auto)
  emolens train --config configs/default.yaml --data fer2013.zip --seed 1 --out runs/seed1   # one member only
  emolens train --config configs/fast.yaml --data fer2013.zip --teacher default --out runs/fast-kd   # distil
  emolens train --config configs/fast.yaml --data fer2013.zip --labels ferplus --ferplus-mode mixed --out runs/fp
  emolens train --config configs/fast.yaml --data fer2013.zip --labels ferplus --classes 8 --out runs/fp8   # + contempt""",
    "evaluate": """examples:
  emolens evaluate --model default --data ../shared/datasets/fer2013/fer2013.zip --split test --json
  emolens evaluate --model default --data ../shared/datasets/fer2013/fer2013.zip --labels ferplus   # FER+ majority
  emolens evaluate --model runs/default --data fer2013.csv --split test --tta flip
  emolens evaluate --model exported/ --data test_only_folder/ --out reports/eval
  emolens evaluate --model default --data ../shared/datasets/sfew-dev/sfew-dev.zip --pipeline   # whole photos""",
    "export": """examples:
  emolens export runs/default --out exported/default
  emolens export runs/default --out src/emolens/models/default --name default
  emolens export runs/seed0 runs/seed1 --out exported/ensemble   # logits averaged in one ONNX graph
  emolens export runs/default --out exported/default --half   # a folder of members (seed*/) = their ensemble
  emolens export runs/try --out exported/try --tta flip,zoom
  emolens export runs/default runs/input40 --out exported/mixed   # a 40 px member is fed a resized 48 px input
  emolens export runs/gpu/a0 runs/gpu/a1 --out exported/ens --half --data fer2013.zip   # trained elsewhere: calibrate here""",
}


class CliError(Exception):
    """A problem to report in one line (no traceback), exit code 2."""


def _parser() -> argparse.ArgumentParser:
    from emolens.cli_infer import tta_arg  # torch-free; shared by every --tta flag
    p = argparse.ArgumentParser(prog="emolens", description="Facial emotion recognition: train, evaluate, export, analyse.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    d = sub.add_parser("data", help="inspect a dataset: counts, duplicates, sample grids", epilog=EXAMPLES["data"], formatter_class=fmt)
    d.add_argument("path", help="dataset: FER2013 .zip or folder, fer2013.csv, or class-per-folder tree")
    _data_args(d)
    d.add_argument("--out", default="reports/data", help="folder for sample grid PNGs (default: %(default)s)")
    d.add_argument("--json", action="store_true", help="print a JSON document instead of a table")
    d.add_argument("--ferplus", metavar="CSV", help="FER+ votes (default: ferplus.csv beside the dataset, when there)")

    t = sub.add_parser("train", help="train a model (needs the [train] extra)", epilog=EXAMPLES["train"], formatter_class=fmt)
    t.add_argument("--config", help="YAML config; flags given here override it")
    t.add_argument("--data", help="dataset path (see `emolens data`)")
    t.add_argument("--layout", choices=["auto", "kaggle", "csv", "folder"], help="force a dataset layout")
    t.add_argument("--label-map", help="names | rafdb | YAML file mapping folder names to emotions")
    t.add_argument("--model", help="architecture name (vgg, resnet18, resemotenet, simple_deep_cnn)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float, help="max learning rate")
    t.add_argument("--seed", type=int)
    t.add_argument("--limit", type=int, help="train on the first N images only (smoke runs)")
    t.add_argument("--bf16", choices=["auto", "true", "false"],
                   help="bf16 autocast: auto (default: only where the CPU/GPU runs bf16 natively), true or false to force")
    t.add_argument("--no-bf16", action="store_true", help="train in float32 (same as --bf16 false)")
    t.add_argument("--device", help="auto (default: a CUDA GPU when torch sees one, else the CPU), cpu or cuda[:N]")
    t.add_argument("--labels", choices=["fer2013", "ferplus"], help="train on FER2013's labels or FER+ votes (ferplus.csv beside --data)")
    t.add_argument("--ferplus-mode", choices=["majority", "crossentropy", "probability", "mixed"],
                   help="how FER+ votes become targets (default crossentropy: the vote distribution)")
    t.add_argument("--classes", type=int, choices=[7, 8], help="7 emotions, or 8 with FER+'s contempt")
    t.add_argument("--teacher", action="append", metavar="MODEL",
                   help="distil from this run folder or exported model (repeat for an ensemble of teachers)")
    t.add_argument("--out", help="run folder (default: runs/<model>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")

    e = sub.add_parser("evaluate", help="accuracy, macro-F1, confusion, calibration reports", epilog=EXAMPLES["evaluate"], formatter_class=fmt)
    e.add_argument("--model", required=True, help="'default', an exported model folder/ONNX file, or a training run folder")
    e.add_argument("--data", required=True, help="dataset path (any FER2013 layout or class folders)")
    _data_args(e)
    e.add_argument("--split", help="split to evaluate: test (PublicTest), train, private or all (default: the only split "
                                   "when there is one, else test; several without test: name one)")
    e.add_argument("--tta", type=tta_arg, default="card", help="test-time augmentation: card (as the card says), none or a comma list of flip, zoom, shift, e.g. flip,zoom (default: %(default)s)")
    e.add_argument("--labels", choices=["fer2013", "ferplus"], default="fer2013",
                   help="score against FER2013's own labels or the FER+ ten-tagger majority (default: %(default)s)")
    e.add_argument("--ferplus", metavar="CSV", help="FER+ votes CSV (default: ferplus.csv beside --data)")
    e.add_argument("--classes", type=int, choices=[7, 8], default=7,
                   help="--labels ferplus: 7 emotions, or 8 with contempt (default: %(default)s)")
    e.add_argument("--no-dedup-report", action="store_true", help="skip the second report without Training duplicates")
    e.add_argument("--pipeline", action="store_true",
                   help="whole photos in class folders through the runtime (detect, align, crop, classify; the largest "
                        "face is the subject, no face = wrong) instead of ready-made crops")
    e.add_argument("--detector", default="centerface", help="face detector for --pipeline (default: %(default)s)")
    e.add_argument("--limit", type=int, default=0, help="--pipeline: a fixed random sample of N photos (quick checks)")
    e.add_argument("--out", help="folder for report files (default: <run>/eval-<split> for a training run; none for an "
                                 "exported model)")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    x = sub.add_parser("export", help="export a training run to model.onnx + card.json", epilog=EXAMPLES["export"], formatter_class=fmt)
    x.add_argument("run", nargs="+", help="training run folder (holds best.pt) or a folder of members (seed*/); several = one averaged ensemble (input sizes may differ: the card takes the largest)")
    x.add_argument("--out", required=True, help="output folder")
    x.add_argument("--name", default=None, help="model name written in the card (default: the run folder's name)")
    x.add_argument("--no-calibrate", action="store_true", help="skip temperature scaling on the validation split")
    x.add_argument("--data", help="dataset whose validation split calibrates the model (default: the run's training data)")
    x.add_argument("--half", action="store_true", help="store weights as float16 (half the file, same speed; for ensembles)")
    x.add_argument("--tta", type=tta_arg, default=None, help="test-time augmentation written in the card: none or a comma list of flip, zoom, shift (default: the config's eval_tta)")

    from emolens.cli_infer import add_parsers  # analyze, video, webcam (torch-free)
    add_parsers(sub, fmt)
    from emolens.web.cli import add_parsers as add_web_parsers  # serve (FastAPI loads only when serving)
    add_web_parsers(sub, fmt)
    from emolens.cli_session import add_parsers as add_session_parsers  # session analyze | report | purge
    add_session_parsers(sub, fmt)
    from emolens.cli_journal import add_parsers as add_journal_parsers  # journal checkin | summary | export ...
    add_journal_parsers(sub, fmt)
    return p


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--layout", default="auto", choices=["auto", "kaggle", "csv", "folder"], help="force a layout (default: detect)")
    p.add_argument("--label-map", help="names | rafdb | YAML file mapping folder names to emotions")


def _limit_opencv(args: argparse.Namespace) -> None:
    """OpenCV reads its own pixel limit once, when it loads: set it from this command's limit first."""
    from emolens.inference.limits import DEFAULT_MAX_PIXELS, limit_opencv
    megapixels = getattr(args, "max_megapixels", None)
    pixels = int(megapixels * 1e6) if megapixels and megapixels > 0 else DEFAULT_MAX_PIXELS
    if args.command == "serve":
        from emolens.web.settings import Settings
        try:
            pixels = Settings.from_env().max_pixels
        except ValueError:
            pass  # `serve` reports a bad setting itself, in one line
    limit_opencv(pixels)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("emolens").setLevel(level)  # also when a host (pytest, a notebook) configured logging first
    if args.version:
        from emolens import __version__
        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    _limit_opencv(args)  # before anything below imports OpenCV
    from emolens.datasets import DataError
    from emolens.core.card import CardError
    from emolens.cli_infer import HANDLERS as infer_handlers
    from emolens.web.cli import HANDLERS as web_handlers
    from emolens.cli_session import HANDLERS as session_handlers
    from emolens.cli_journal import HANDLERS as journal_handlers
    handlers = {"data": _cmd_data, "train": _cmd_train, "evaluate": _cmd_evaluate, "export": _cmd_export,
                **infer_handlers, **web_handlers, **session_handlers, **journal_handlers}
    try:
        return handlers[args.command](args)
    except (CliError, DataError, CardError, FileNotFoundError, ValueError) as exc:
        print(f"emolens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        if "torch" in str(exc):
            print(f"emolens {args.command}: error: this command needs the training extra: pip install 'emolens[train]'", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `emolens analyze ... --json | head`
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _cmd_data(args) -> int:
    from emolens.datasets.inspect import inspect_dataset, format_report
    report = inspect_dataset(args.path, args.layout, args.label_map, args.out, votes=args.ferplus or "")
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _cmd_train(args) -> int:
    from emolens.train.config import TrainConfig
    if args.resume:
        run = Path(args.resume)
        if not (run / "config.yaml").is_file():
            raise CliError(f"{run} is not a run folder (no config.yaml)")
        cfg = TrainConfig.load(run / "config.yaml")
        if args.device:
            cfg.device = args.device  # a run started on a GPU may go on on the CPU, and back
        if args.bf16:
            cfg.bf16 = {"auto": "auto", "true": True, "false": False}[args.bf16]
        out = run
    else:
        cfg = TrainConfig.load(args.config) if args.config else TrainConfig()
        overrides = {"data": args.data, "layout": args.layout, "label_map": args.label_map, "model": args.model,
                     "labels": args.labels, "ferplus_mode": args.ferplus_mode, "classes": args.classes,
                     "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "limit": args.limit,
                     "device": args.device}
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, value)
        if args.bf16:
            cfg.bf16 = {"auto": "auto", "true": True, "false": False}[args.bf16]
        if args.no_bf16:
            cfg.bf16 = False
        if args.teacher:
            cfg.teachers = list(args.teacher)
        if args.seed is not None:
            cfg.ensemble_seeds = []  # --seed trains that one member of a multi-seed recipe
        if not cfg.data:
            raise CliError("no dataset: pass --data PATH (or set data: in the config)")
        out = Path(args.out or f"runs/{cfg.model}")
        if (out / "last.pt").exists():
            raise CliError(f"{out} already holds a run: use --resume {out} or another --out")
    from emolens.train.loop import fit, fit_members, log_to_run
    log_to_run(out)
    if len(cfg.ensemble_seeds) > 1:
        rows = fit_members(cfg, out)
        for seed, row in zip(cfg.ensemble_seeds, rows):
            print(f"seed {seed}: best epoch {row.get('epoch')}, val accuracy {row.get('val_accuracy', 0):.4f}")
        print(f"{len(rows)} members in {out}; export them as one model: emolens export {out} --out DIR")
        return 0
    best = fit(cfg, out, resume=bool(args.resume))
    print(f"best epoch {best.get('epoch')}: val accuracy {best.get('val_accuracy', 0):.4f}, "
          f"macro-F1 {best.get('val_macro_f1', 0):.4f}; run folder {out}")
    return 0


def _cmd_evaluate(args) -> int:
    if args.pipeline:
        from emolens.evaluation.pipeline import evaluate_pipeline, format_pipeline
        report = evaluate_pipeline(args.model, args.data, detector=args.detector, tta=args.tta, label_map=args.label_map,
                                   limit=args.limit, out=args.out)
        print(json.dumps(report, indent=2) if args.json else format_pipeline(report))
        return 0
    from emolens.evaluation import evaluate_model
    from emolens.datasets.ferplus import FerPlusOptions
    report = evaluate_model(args.model, args.data, split=args.split, layout=args.layout, label_map=args.label_map,
                            tta=args.tta, out=args.out, dedup=not args.no_dedup_report, labels=args.labels,
                            ferplus=FerPlusOptions(mode="majority", classes=args.classes, votes=args.ferplus or ""))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        from emolens.evaluation.report import format_metrics
        print(format_metrics(report))
    return 0


def _cmd_export(args) -> int:
    from emolens.train.export import export_run
    card = export_run(args.run, args.out, name=args.name or Path(args.run[0]).name, calibrate=not args.no_calibrate,
                      tta=args.tta, half=args.half, data=args.data)
    print(f"wrote {Path(args.out) / 'model.onnx'} and card.json (sha256 {card.onnx_sha256[:12]}...)")
    return 0


if __name__ == "__main__":
    # `python -m emolens.cli` runs this file as __main__: call the imported module's main, so the CliError
    # that subcommands raise (emolens.cli.CliError) is the one main catches.
    from emolens.cli import main as _main
    sys.exit(_main())

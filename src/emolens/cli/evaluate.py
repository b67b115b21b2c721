"""`emolens evaluate`: accuracy, macro-F1, confusion and calibration of a model on a dataset split.

Exported models need only the base install; a training run folder is scored by the [train]
extra's run_logits, handed to the evaluation (which imports nothing of train).
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

from emolens.cli.common import FORMATTER, data_args, tta_arg
from emolens.core.card import PRECISIONS
from emolens.datasets.ferplus import FerPlusOptions
from emolens.evaluation.evaluate import LogitsFn, evaluate_model, is_run_folder
from emolens.evaluation.pipeline import evaluate_pipeline, format_pipeline
from emolens.evaluation.report import format_metrics
from emolens.inference.detectors import DEFAULT_DETECTOR, available_detectors

EXAMPLES = """examples:
  emolens evaluate --model default --data ../shared/datasets/fer2013/fer2013.zip --split test --json
  emolens evaluate --model default --data ../shared/datasets/fer2013/fer2013.zip --labels ferplus   # FER+ majority
  emolens evaluate --model runs/default --data fer2013.csv --split test --tta flip
  emolens evaluate --model default --data ../shared/datasets/fer2013/fer2013.zip --precision float   # not int8
  emolens evaluate --model exported/ --data test_only_folder/ --out reports/eval
  emolens evaluate --model default --data ../shared/datasets/sfew-dev/sfew-dev.zip --pipeline   # whole photos"""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    e = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    e.add_argument(
        "--model", required=True, help="'default', an exported model folder/ONNX file, or a training run folder"
    )
    e.add_argument("--data", required=True, help="dataset path (any FER2013 layout or class folders)")
    data_args(e)
    e.add_argument(
        "--split",
        help="split to evaluate: test (PublicTest), train, private or all (default: the only split "
        "when there is one, else test; several without test: name one)",
    )
    e.add_argument(
        "--tta",
        type=tta_arg,
        default="card",
        help="test-time augmentation: card (as the card says), none or a comma list of flip, zoom, shift, "
        "e.g. flip,zoom (default: %(default)s)",
    )
    e.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="an exported model's graph: auto (int8 when the folder has one, as the runtime reads), float or int8 "
        "(default: %(default)s)",
    )
    e.add_argument(
        "--labels",
        choices=["fer2013", "ferplus"],
        default="fer2013",
        help="score against FER2013's own labels or the FER+ ten-tagger majority (default: %(default)s)",
    )
    e.add_argument("--ferplus", metavar="CSV", help="FER+ votes CSV (default: ferplus.csv beside --data)")
    e.add_argument(
        "--classes",
        type=int,
        choices=[7, 8],
        default=7,
        help="--labels ferplus: 7 emotions, or 8 with contempt (default: %(default)s)",
    )
    e.add_argument("--no-dedup-report", action="store_true", help="skip the second report without Training duplicates")
    e.add_argument(
        "--pipeline",
        action="store_true",
        help="whole photos in class folders through the runtime (detect, align, crop, classify; the largest "
        "face is the subject, no face = wrong) instead of ready-made crops",
    )
    e.add_argument(
        "--detector",
        default=DEFAULT_DETECTOR,
        help=f"face detector for --pipeline: {' or '.join(available_detectors())} (default: %(default)s)",
    )
    e.add_argument("--limit", type=int, default=0, help="--pipeline: a fixed random sample of N photos (quick checks)")
    e.add_argument(
        "--out",
        help="folder for report files (default: <run>/eval-<split> for a training run; none for an exported model)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.pipeline:
        report = evaluate_pipeline(
            args.model,
            args.data,
            detector=args.detector,
            tta=args.tta,
            label_map=args.label_map,
            limit=args.limit,
            out=args.out,
            precision=args.precision,
        )
        print(json.dumps(report, indent=2) if args.json else format_pipeline(report))
        return 0
    report = evaluate_model(
        args.model,
        args.data,
        split=args.split,
        layout=args.layout,
        label_map=args.label_map,
        tta=args.tta,
        out=args.out,
        dedup=not args.no_dedup_report,
        labels=args.labels,
        ferplus=FerPlusOptions(mode="majority", classes=args.classes, votes=args.ferplus or ""),
        logits=run_folder_logits(args.model),
        precision=args.precision,
    )
    print(json.dumps(report, indent=2) if args.json else format_metrics(report))
    return 0


def run_folder_logits(model: str) -> LogitsFn | None:
    """How to score a training run folder (the [train] extra); None for an exported model."""
    if not is_run_folder(model):
        return None
    from emolens.train.runs import run_logits  # torch: only for run folders

    return partial(run_logits, Path(model))

"""`emolens data`: counts, duplicates and sample grids of a dataset."""

from __future__ import annotations

import argparse
import json

from emolens.cli.common import FORMATTER, data_args
from emolens.datasets.inspect import format_report, inspect_dataset

EXAMPLES = """examples:
  emolens data ../shared/datasets/fer2013/fer2013.zip
  emolens data fer2013.csv --out reports/data
  emolens data ck_plus/ --layout folder --label-map names"""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    d = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    d.add_argument("path", help="dataset: FER2013 .zip or folder, fer2013.csv, or class-per-folder tree")
    data_args(d)
    d.add_argument("--out", default="reports/data", help="folder for sample grid PNGs (default: %(default)s)")
    d.add_argument("--json", action="store_true", help="print a JSON document instead of a table")
    d.add_argument("--ferplus", metavar="CSV", help="FER+ votes (default: ferplus.csv beside the dataset, when there)")
    d.set_defaults(handler=cmd_data)


def cmd_data(args: argparse.Namespace) -> int:
    report = inspect_dataset(args.path, args.layout, args.label_map, args.out, votes=args.ferplus or "")
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0

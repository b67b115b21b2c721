"""The runtime for the verbs that look at faces: engine options, the Analyzer they build, friendly errors."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from emolens.cli.common import CliError, tta_arg
from emolens.core.card import PRECISIONS
from emolens.inference.analyzer import Analyzer
from emolens.inference.detectors import DEFAULT_DETECTOR, DetectorError, available_detectors
from emolens.inference.images import ImageError
from emolens.inference.video import VideoError


def engine_args(p: argparse.ArgumentParser, detect_size: int, model: str = "default") -> None:
    """--model, --precision, --detector, --threshold, --min-face, --detect-size, --threads, --tta."""
    # Every verb defaults to `default`: its int8 graph reads a face in ~3 ms on a CPU with VNNI (BENCHMARKS.md).
    p.add_argument(
        "--model",
        default=model,
        help="'default', 'fast' or a folder with model.onnx + card.json (default: %(default)s)",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="which graph of the model reads faces: auto (int8 when the model has one, as `default` does), float "
        "or int8 (default: %(default)s)",
    )
    p.add_argument(
        "--detector",
        default=DEFAULT_DETECTOR,
        help=f"face detector: {' or '.join(available_detectors())} (default: %(default)s)",
    )
    p.add_argument("--threshold", type=float, help="detector confidence threshold, 0..1 (default: 0.5)")
    p.add_argument("--min-face", type=int, default=20, help="ignore faces smaller than N pixels (default: %(default)s)")
    p.add_argument(
        "--detect-size",
        type=int,
        default=detect_size,
        help="longer image side the detector sees; larger finds smaller faces, slower (default: %(default)s)",
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the models (default: %(default)s)")
    p.add_argument(
        "--tta",
        type=tta_arg,
        default="card",
        help="test-time augmentation: card (as the model card says), none or a comma list of flip, zoom, shift "
        "(default: %(default)s)",
    )


def analyzer(args: argparse.Namespace, **kw: Any) -> Analyzer:
    """The Analyzer the engine options describe."""
    tta = None if args.tta == "card" else args.tta
    return Analyzer(
        args.model,
        args.detector,
        threads=args.threads,
        tta=tta,
        precision=args.precision,
        threshold=args.threshold,
        min_face=args.min_face,
        max_side=args.detect_size,
        **kw,
    )


def friendly(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the runtime's own errors into CliError: one line, exit code 2."""

    @functools.wraps(fn)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (DetectorError, ImageError, VideoError) as exc:
            raise CliError(str(exc)) from None

    return wrapper

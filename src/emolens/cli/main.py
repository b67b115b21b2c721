"""The `emolens` command's index of verbs, and dispatch to the one verb module a command needs.

Exit codes: 0 ok, 1 some inputs failed (batch went on), 2 bad usage or input.

Each verb lives in a module of this package with `add_parser(sub, name, help)`, which adds the
verb's arguments and sets `handler`. Only the module of the verb being run is imported: `emolens
journal list` never loads torch, FastAPI or the training code, and OpenCV's own pixel limit is
set before any verb module loads OpenCV. A new verb is a module and a line in VERBS.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from emolens import __version__
from emolens.inference.limits import DEFAULT_MAX_PIXELS, limit_opencv  # no OpenCV in there
from emolens.web.settings import Settings  # a plain dataclass: no FastAPI behind it

# verb -> (module of emolens.cli, one line for `emolens --help`); the order of `emolens --help`.
VERBS: dict[str, tuple[str, str]] = {
    "data": ("data", "inspect a dataset: counts, duplicates, sample grids"),
    "train": ("train", "train a model (needs the [train] extra)"),
    "evaluate": ("evaluate", "accuracy, macro-F1, confusion, calibration reports"),
    "export": ("train", "export a training run to model.onnx + card.json"),
    "finetune": ("finetune", "fine-tune a model on journal users' contributed crops, with a safety gate"),
    "models": ("models", "model versions: list, show, install, use, rollback"),
    "analyze": ("infer", "faces and emotions in images or folders"),
    "video": ("infer", "track faces and emotions through a video file or camera"),
    "webcam": ("infer", "live camera window with emotions"),
    "batch": ("batch", "photo archives and video libraries to a table of faces, here or on a Ray cluster"),
    "serve": ("serve", "run the web app and REST API"),
    "session": ("session", "customer satisfaction: score service sessions, reports"),
    "journal": ("journal", "mood journal: daily check-ins, trends, self-care suggestions"),
}


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; only `verb` gets its arguments (the others are names and help lines)."""
    p = argparse.ArgumentParser(
        prog="emolens", description="Facial emotion recognition: train, evaluate, export, analyse."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in VERBS.items():
        if name == verb:
            importlib.import_module(f"emolens.cli.{module}").add_parser(sub, name, help_)
        else:
            sub.add_parser(name, help=help_)
    return p


def verb_of(argv: list[str]) -> str | None:
    """The verb named on the command line (the first word that is not an option), if any."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in VERBS else None


def opencv_pixels(verb: str, argv: list[str]) -> int:
    """This command's pixel limit, known before any verb module is imported: analyze's --max-megapixels,
    serve's EMOLENS_MAX_PIXELS, else the runtime's default."""
    if verb == "serve":
        try:
            return Settings.from_env().max_pixels
        except ValueError:
            return DEFAULT_MAX_PIXELS  # `serve` reports a bad setting itself, in one line
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--max-megapixels")
    given, _ = pre.parse_known_args(argv)
    try:
        megapixels = float(given.max_megapixels or 0)
    except ValueError:
        megapixels = 0  # the verb's own parser refuses it
    return int(megapixels * 1e6) if megapixels > 0 else DEFAULT_MAX_PIXELS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    verb = verb_of(argv)
    if verb:
        limit_opencv(opencv_pixels(verb, argv))  # OpenCV reads its limit once, when it loads: first
    parser = build_parser(verb)
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("emolens").setLevel(level)  # also when a host (pytest, a notebook) configured logging first
    if args.version:
        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    """The verb's handler, its errors as one line each: CliError and the domain's ValueErrors (DataError,
    CardError, ...) exit 2, like a missing file, an OS error (permission denied, disk full) or a missing training
    extra."""
    try:
        return args.handler(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"emolens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        if "torch" in str(exc):
            print(
                f"emolens {args.command}: error: this command needs the training extra: pip install 'emolens[train]'",
                file=sys.stderr,
            )
            return 2
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `emolens analyze ... --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # permission denied, disk full, a file where a folder should be: one line, not a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"emolens {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2

"""`emolens batch`: photo archives and video libraries to one table of faces, here or on a Ray cluster.

A thin adapter over emolens.batch: find the inputs, build the work spec from the same engine
options as `analyze` and `video`, run the job with a progress bar, report what it did.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from tqdm import tqdm

from emolens.batch.inputs import find_inputs
from emolens.batch.job import JobStats, run_job
from emolens.batch.on_ray import LOCAL, RayMissing
from emolens.batch.output import Output, OutputError
from emolens.batch.spec import WorkSpec
from emolens.batch.worker import PartResult
from emolens.cli.common import FORMATTER, CliError, positive
from emolens.cli.engine import engine_args

EXAMPLES = """examples:
  emolens batch photos/ --out faces.parquet               # a folder, searched recursively
  emolens batch 'archive/**/*.jpg' videos/ --out faces.csv --workers 2
  emolens batch list.txt --out results/                    # a list of paths; partitioned Parquet
  emolens batch library/ --out results/ --ray auto         # the Ray cluster running here
  emolens batch library/ --out results/ --ray 10.0.0.5:6379 --workers 8
  emolens batch library/ --out results/ --ray              # a Ray instance started for this job

one row per face (photos) or per frame and face (videos), one error row per unreadable file;
video summaries go to results.videos.jsonl (DIR/_videos.jsonl). Rerun the same command to resume:
inputs already in the output are skipped. Numbers only: no image is stored.
exit code 1 when some inputs could not be read (they are error rows; the rest went on)"""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    p = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="folders of photos and videos, files, a list of paths (.txt, one per line; - reads stdin) or a glob",
    )
    p.add_argument("--out", required=True, help="results.parquet, results.csv, or DIR/ for partitioned Parquet")
    p.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run on Ray (the [ray] extra): 'auto' joins the cluster running here, HOST:PORT another; "
        "no address starts one on this machine",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes here, or actors on Ray, one engine each (default: 1 here; on Ray, one per CPU)",
    )
    add_engine_args(p)
    p.add_argument(
        "--every", type=int, default=1, help="videos: run the detector every N frames (default: %(default)s)"
    )
    p.add_argument(
        "--smooth", type=float, default=0.4, metavar="ALPHA", help="videos: EMA weight (default: %(default)s)"
    )
    p.add_argument("--max-seconds", type=positive, help="videos: analyse at most the first N seconds of each")
    p.add_argument(
        "--max-megapixels", type=positive, default=100.0, help="photos and video frames: refuse larger (default: 100)"
    )
    p.add_argument("--max-decode-mb", type=positive, default=1024.0, help="photos: decode budget (default: 1024)")
    p.add_argument("--photos-per-task", type=int, default=16, help="photos per unit of work (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print what the job did as JSON")
    p.set_defaults(handler=cmd_batch)


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """analyze's engine options; --detect-size and --threads default to each kind's and each worker's share."""
    engine_args(p, detect_size=0)
    for action in p._actions:
        if action.dest == "detect_size":
            action.default = None
            action.help = "longer image side the detector sees (default: 1024 for photos, 640 for videos)"
        elif action.dest == "threads":
            action.default = None
            action.help = "CPU threads per worker (default: cores / workers)"


def work_spec(args: argparse.Namespace, **extra: Any) -> WorkSpec:
    """The engine and video options of a batch job (shared with `session analyze`); extra wins."""
    options: dict[str, Any] = {
        "model": args.model,
        "detector": args.detector,
        "threshold": args.threshold,
        "min_face": args.min_face,
        "tta": None if args.tta == "card" else args.tta,
        "precision": args.precision,
        "every": args.every,
        "smooth": args.smooth,
    }
    if args.detect_size:
        options.update(photo_detect_size=args.detect_size, video_detect_size=args.detect_size)
    return WorkSpec(**{**options, **extra})


def run_with_progress(args: argparse.Namespace, items, spec: WorkSpec, sink, unit: str = "input") -> JobStats:
    """The job with a progress bar (a line per 10 % when stderr is not a terminal); Ray's errors as one line."""
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        raise CliError(f"--threads must be at least 1, got {args.threads}")
    bar = tqdm(total=len(items), desc=args.command, unit=unit, disable=None, file=sys.stderr)

    def advance(result: PartResult) -> None:
        bar.update(len(result.keys))

    try:
        with contextlib.redirect_stdout(sys.stderr):  # Ray's own messages must not mix into --json on stdout
            return run_job(
                items,
                spec,
                sink,
                workers=args.workers,
                ray=args.ray,
                threads=args.threads,
                photos_per_task=getattr(args, "photos_per_task", 16),
                on_result=advance,
                on_plan=lambda stats: bar.update(stats.skipped),
            )
    except RayMissing as exc:
        raise CliError(str(exc)) from None
    except ConnectionError as exc:
        raise CliError(f"--ray: {exc}") from None
    except KeyboardInterrupt:
        print("stopped: what was finished is kept; run the same command again to resume", file=sys.stderr)
        raise
    finally:
        bar.close()


def cmd_batch(args: argparse.Namespace) -> int:
    if args.photos_per_task < 1:
        raise CliError(f"--photos-per-task must be at least 1, got {args.photos_per_task}")
    items, problems = find_inputs(args.sources)
    for source, problem in problems:
        print(f"emolens batch: {source}: {problem}", file=sys.stderr)
    if not items:
        raise CliError("nothing to analyse: give folders, files, a list of paths or a glob")
    spec = work_spec(
        args, max_seconds=args.max_seconds, max_megapixels=args.max_megapixels, max_decode_mb=args.max_decode_mb
    )
    try:
        output = Output(args.out, spec.labels())
    except OutputError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"--out {args.out}: {exc.strerror or exc}") from None
    stats = run_with_progress(args, items, spec, output)
    doc = {**stats.to_dict(), "out": str(output.path), "videos": str(output.summaries_path)}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(
            f"{stats.analysed} input(s) analysed, {stats.skipped} already done, {stats.errors} error(s); "
            f"{stats.written} row(s) in {output.path}"
            + (f", video summaries in {output.summaries_path}" if output.summaries_path.exists() else "")
        )
    return 1 if stats.errors or problems else 0

"""The runtime verbs: `emolens analyze` (photos), `emolens video` (a file or camera), `emolens webcam` (a window)."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from emolens.cli.common import FORMATTER, CliError, positive, table
from emolens.cli.engine import analyzer as build_analyzer
from emolens.cli.engine import engine_args, friendly
from emolens.cli.progress import VideoProgress, fast_model_face_s
from emolens.inference.display import Window
from emolens.inference.draw import annotate
from emolens.inference.images import IMAGE_SUFFIXES, ImageError
from emolens.inference.limits import MB, ImageLimits
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.video import AnnotatedVideo, TimelineCsv, VideoSource, run_video

log = logging.getLogger("emolens")

EXAMPLES = {
    "analyze": """examples:
  emolens analyze photo.jpg                       # table of faces and emotions
  emolens analyze photos/ --json > faces.json     # folders are searched recursively
  emolens analyze a.jpg b.png --csv faces.csv --annotate annotated/
  emolens analyze group.jpg --threshold 0.3 --detect-size 1600   # small or hard faces

exit code 1 when some files could not be read (they are reported; the rest go on)""",
    "video": """examples:
  emolens video clip.mp4 --out annotated.mp4 --timeline timeline.csv --summary summary.json
  emolens video clip.mp4 --every 3 --smooth 0.3   # detect every 3rd frame, smoother labels
  emolens video 0 --max-frames 300 --out webcam.mp4   # camera 0, no window needed""",
    "webcam": """examples:
  emolens webcam                     # camera 0, live window, default model (int8); q or Esc quits
  emolens webcam --model fast        # the cheapest model, for a slow CPU
  emolens webcam --camera 1 --every 2 --summary session.json""",
}


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    p = sub.add_parser(name, help=help, epilog=EXAMPLES[name], formatter_class=FORMATTER)
    if name == "analyze":
        _analyze_args(p)
        return
    if name == "video":
        p.add_argument("source", metavar="SOURCE", help="video file, or a camera index such as 0")
    else:
        p.add_argument("--camera", type=int, default=0, help="camera index (default: %(default)s)")
    p.add_argument("--out", metavar="FILE", help="write the annotated video (.mp4 or .avi)")
    p.add_argument("--timeline", metavar="CSV", help="one row per (frame, face id) with time, box, probabilities")
    p.add_argument("--summary", metavar="JSON", help="per-face and whole-video summary")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    p.add_argument(
        "--every",
        type=int,
        default=1 if name == "video" else 2,
        help="run the detector every N frames, track in between (default: %(default)s)",
    )
    p.add_argument(
        "--smooth",
        type=float,
        default=0.4,
        metavar="ALPHA",
        help="EMA weight of the newest frame's probabilities, 1 = no smoothing (default: %(default)s)",
    )
    p.add_argument("--max-frames", type=int, help="stop after N frames")
    engine_args(p, detect_size=640)
    p.set_defaults(handler=cmd_video if name == "video" else cmd_webcam)


def _analyze_args(a: argparse.ArgumentParser) -> None:
    a.add_argument("sources", nargs="+", metavar="SOURCE", help="image files or folders (searched recursively)")
    out = a.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document: a list of images with their faces")
    out.add_argument("--csv", metavar="FILE", help="write one row per face to FILE (the table still prints)")
    a.add_argument("--annotate", metavar="OUT_DIR", help="save copies with boxes and labels drawn into OUT_DIR")
    engine_args(a, detect_size=1024)
    a.add_argument(
        "--max-megapixels",
        type=positive,
        default=100.0,
        help="refuse images with more pixels, read from the header before decoding (default: %(default)s)",
    )
    a.add_argument(
        "--max-decode-mb",
        type=positive,
        default=1024.0,
        help="refuse images whose decoding needs more memory (16-bit, alpha, progressive JPEG) (default: %(default)s)",
    )
    a.set_defaults(handler=cmd_analyze)


def image_limits(args: argparse.Namespace) -> ImageLimits:
    """The analyze command's decode limits, named after their flags in every refusal."""
    return ImageLimits(
        max_pixels=int(args.max_megapixels * 1e6),
        max_decode_bytes=int(args.max_decode_mb * MB),
        pixels_setting="--max-megapixels",
        decode_setting="--max-decode-mb",
    )


def find_images(sources: list[str]) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """SOURCE arguments -> ([(path, name for outputs)], [(source, error)]); folders recursively."""
    found, missing = [], []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                missing.append((src, f"no images in this folder (looked for {', '.join(IMAGE_SUFFIXES)})"))
            found += [(f, str(Path(p.name) / f.relative_to(p))) for f in files]
        elif p.exists():
            found.append((p, p.name))
        else:
            missing.append((src, "no such file or folder"))
    return found, missing


@friendly
def cmd_analyze(args: argparse.Namespace) -> int:
    images, failed = find_images(args.sources)
    for src, err in failed:
        print(f"emolens analyze: {src}: {err}", file=sys.stderr)
    if not images:
        raise CliError("nothing to analyse: give image files or folders of images")
    analyzer = build_analyzer(args, limits=image_limits(args))
    records: list[dict[str, Any]] = [{"image": src, "error": err} for src, err in failed]
    written: list[Path] = []
    for path, name in tqdm(images, desc="analyze", unit="img", disable=None, file=sys.stderr):
        try:
            img = analyzer.load(path)
            faces = analyzer.classify([img], [analyzer.detect(img)])[0]
        except ImageError as exc:
            tqdm.write(f"emolens analyze: {exc}", file=sys.stderr)
            records.append({"image": str(path), "error": str(exc)})
            continue
        records.append(
            {"image": str(path), "width": img.shape[1], "height": img.shape[0], "faces": [f.to_dict() for f in faces]}
        )
        if args.annotate:
            saved = _save_annotated(img, faces, Path(args.annotate) / name)
            written += [saved] if saved else []
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(format_table(records))
        if args.csv:
            write_csv(records, args.csv, analyzer.labels)
    if args.annotate:  # stderr: --json keeps stdout one JSON document
        print(
            f"wrote {written[0]}"
            if len(written) == 1
            else f"wrote {len(written)} annotated image(s) to {args.annotate}",
            file=sys.stderr,
        )
    empty = [r["image"] for r in records if r.get("faces") == []]
    if empty and not args.json:
        print(
            f"no face found in {len(empty)} image(s), e.g. {empty[0]}: try --threshold 0.3 or a larger --detect-size",
            file=sys.stderr,
        )
    return 1 if any("error" in r for r in records) else 0


def _save_annotated(img, faces, path: Path) -> Path | None:
    """The annotated copy at path (PNG when the suffix is not one OpenCV writes); None when it failed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".bmp", ".webp"):
        path = path.with_suffix(".png")
    if not cv2.imwrite(str(path), annotate(img, faces)):
        log.warning("could not write %s", path)
        return None
    return path


def format_table(records: list[dict[str, Any]]) -> str:
    rows = [("image", "face", "box x,y,w,h", "emotion", "conf", "notes")]
    for r in records:
        if "error" in r:
            rows.append((r["image"], "-", "-", "-", "-", "ERROR: " + r["error"].split(": ", 1)[-1]))
            continue
        if not r["faces"]:
            rows.append((r["image"], "-", "-", "-", "-", "no face found"))
        for i, f in enumerate(r["faces"], 1):
            b = f["box"]
            notes = [k for k in ("tiny", "blurry", "dark") if f["quality"][k]]
            if f["uncertain"]:
                notes.insert(0, "uncertain")
            rows.append(
                (
                    r["image"],
                    str(i),
                    f"{b['x']},{b['y']},{b['w']},{b['h']}",
                    f["emotion"],
                    f"{f['confidence']:.0%}",
                    ", ".join(notes),
                )
            )
    return table(rows)


def write_csv(records: list[dict[str, Any]], path: str, labels: tuple[str, ...]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "image",
                "face",
                "x",
                "y",
                "w",
                "h",
                "score",
                "emotion",
                "confidence",
                "uncertain",
                "quality",
                *labels,
                "error",
            ]
        )
        for r in records:
            if "error" in r or not r["faces"]:
                w.writerow([r["image"], *[""] * (10 + len(labels)), r.get("error", "")])
            for i, f in enumerate(r.get("faces", []), 1):
                b, q = f["box"], f["quality"]
                w.writerow(
                    [
                        r["image"],
                        i,
                        b["x"],
                        b["y"],
                        b["w"],
                        b["h"],
                        f["score"],
                        f["emotion"],
                        f["confidence"],
                        int(f["uncertain"]),
                        " ".join(k for k in ("tiny", "blurry", "dark") if q[k]),
                        *(f["probabilities"][k] for k in labels),
                        "",
                    ]
                )


@friendly
def cmd_video(args: argparse.Namespace) -> int:
    return _run_stream(args, args.source, window=False)


@friendly
def cmd_webcam(args: argparse.Namespace) -> int:
    window = Window()  # fails first, and clearly, on machines without a display
    return _run_stream(args, args.camera, window=window)


def _run_stream(args: argparse.Namespace, source: str | int, window) -> int:
    options = StreamOptions(every=args.every, alpha=args.smooth)  # validates before the slow parts
    analyzer = build_analyzer(args)
    sinks = []
    with VideoSource(source) as src:
        info = src.info
        try:
            if args.out:
                sinks.append(AnnotatedVideo(args.out, info.fps, (info.width, info.height)))
            if args.timeline:
                sinks.append(TimelineCsv(args.timeline, analyzer.labels))
            if window:
                sinks.append(window)
        except Exception:
            for s in sinks:
                s.close()
            raise
        total = min(info.frame_count or 0, args.max_frames or 1 << 62) or args.max_frames
        stream = StreamAnalyzer(analyzer, options)
        progress = VideoProgress(
            Path(str(info.source)).name, total or 0, stream, options.every, fast_face_s=fast_model_face_s(analyzer)
        )
        try:
            summary = run_video(src, stream, sinks, max_frames=args.max_frames, on_progress=progress)
        finally:
            progress.close()
    doc = {"video": info.to_dict(), "model": analyzer.describe(), "options": options.to_dict(), **summary.to_dict()}
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2) if args.json else format_summary(doc))
    return 0


def format_summary(doc: dict[str, Any]) -> str:
    lines = [
        f"{doc['frames']} frames, {doc['duration']:.1f} s, faces in {doc['frames_with_faces']} frames, "
        f"{doc['face_count']} face id(s)"
    ]
    if doc["dominant"]:
        share = ", ".join(f"{k} {v:.0%}" for k, v in sorted(doc["share"].items(), key=lambda kv: -kv[1]) if v > 0)
        lines.append(f"overall: {doc['dominant']} (valence {doc['mean_valence']:+.2f}); {share}")
    for f in doc["faces"]:
        lines.append(
            f"  face #{f['id']}: {f['first_time']:.1f}-{f['last_time']:.1f} s, {f['frames']} frames, "
            f"mostly {f['dominant']} ({f['share'][f['dominant']]:.0%}), valence {f['mean_valence']:+.2f}"
        )
    return "\n".join(lines)

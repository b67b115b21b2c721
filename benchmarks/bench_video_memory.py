"""Peak memory over a long video: `emolens video` must stream, never hold frames.

    python benchmarks/bench_video_memory.py --minutes 10 --fps 10 --every 3

Writes a generated 640x480 video (1-3 moving faces made from a real photo) of the
given length, runs the video pipeline with a timeline CSV and summary, and samples
the process's resident memory (RSS) as frames go by. Flat = the last samples are no
higher than the first ones after warm-up.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import cv2
from bench_inference import frame_with_faces

from emolens.core import machine
from emolens.inference.analyzer import Analyzer
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.video import TimelineCsv, VideoSource, run_video


def rss_mb() -> float:
    """Current resident set size, from /proc (Linux)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class MemorySampler:
    """A sink that records RSS every `every` frames (and writes nothing)."""

    def __init__(self, every: int):
        self.every, self.samples = every, []

    def write(self, frame, result) -> bool:
        if result.index % self.every == 0:
            self.samples.append((result.index, round(rss_mb(), 1)))
        return True

    def close(self) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=10.0, help="frame rate of the generated video")
    ap.add_argument("--every", type=int, default=3, help="detect faces every N frames")
    args = ap.parse_args()
    frames = int(args.minutes * 60 * args.fps)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), args.fps, (640, 480))
        for i in range(frames):
            writer.write(frame_with_faces(1 + (i // 50) % 3, i / 200))
        writer.release()
        analyzer = Analyzer(args.model, max_side=640)
        sampler = MemorySampler(max(frames // 20, 1))
        timeline = TimelineCsv(Path(tmp) / "timeline.csv", analyzer.labels)
        start_rss = rss_mb()
        t = time.perf_counter()
        with VideoSource(path) as src:
            summary = run_video(src, StreamAnalyzer(analyzer, StreamOptions(every=args.every)), [timeline, sampler])
        dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss = [s[1] for s in sampler.samples]
    print(
        json.dumps(
            {
                "machine": machine.describe(),
                "video": f"{args.minutes:g} min, {frames} frames at {args.fps:g} fps, 640x480",
                "every": args.every,
                "frames_processed": summary.frames,
                "seconds": round(dt, 1),
                "fps": round(summary.frames / dt, 1),
                "rss_mb_before": round(start_rss, 1),
                "rss_mb_first_sample": rss[1] if len(rss) > 1 else None,
                "rss_mb_last_sample": rss[-1] if rss else None,
                "rss_mb_max_sample": max(rss) if rss else None,
                "peak_rss_mb": round(peak, 1),
                "samples": sampler.samples,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

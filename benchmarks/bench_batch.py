"""Batch throughput: images/s and video-seconds/s on this machine, then on Ray with 1, 2 and 4 actors.

    python benchmarks/bench_batch.py --photos 24 --videos 2 --seconds 4 --json bench_batch.json

A generated archive (JPEG photos 640x480 with one to three real faces from skimage's astronaut,
and 640x360 videos at 10 fps with two moving faces) goes through `emolens.batch.run_job`, the
code behind `emolens batch`, once per configuration, into a fresh output each time:
local in-process (one engine, all cores), local with 2 worker processes, and a Ray instance
started on this machine with 1, 2 and 4 actors of 1 thread each. Photos and videos are timed
apart. Every time is the whole job: engines built, workers started, results written.

Also printed: each configuration's rate per actor (or worker) and, from the best per-actor
rate, what a cluster of N nodes of this machine's size would reach if it scaled linearly
(an upper bound: the driver writes every result, and a real cluster adds network time).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from emolens.batch.inputs import find_inputs
from emolens.batch.job import run_job
from emolens.batch.output import Output
from emolens.batch.spec import WorkSpec
from emolens.core import machine


def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def make_archive(root: Path, photos: int, videos: int, seconds: float) -> None:
    rng = np.random.default_rng(0)
    face = astronaut()
    (root / "photos").mkdir(parents=True)
    (root / "videos").mkdir()
    for i in range(photos):
        img = np.full((480, 640, 3), rng.integers(60, 200, 3), np.uint8)
        for k in range(1 + i % 3):
            size = int(rng.integers(140, 200))
            small = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
            x, y = 10 + k * 210, int(rng.integers(0, 480 - size))
            img[y : y + size, x : x + size] = small
        cv2.imwrite(str(root / "photos" / f"p{i:03d}.jpg"), img)
    a = cv2.resize(face, (180, 180), interpolation=cv2.INTER_AREA)
    b = cv2.resize(face[:, ::-1], (140, 140), interpolation=cv2.INTER_AREA)
    frames = int(seconds * 10)
    for v in range(videos):
        writer = cv2.VideoWriter(str(root / "videos" / f"v{v}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (640, 360))
        for i in range(frames):
            t = i / max(1, frames - 1)
            frame = np.full((360, 640, 3), 90 + 20 * v, np.uint8)
            ax, bx = int(10 + 200 * t), int(640 - 150 - 200 * t)
            frame[20:200, ax : ax + 180] = a
            frame[210:350, bx : bx + 140] = b
            writer.write(frame)
        writer.release()


def timed(items, spec: WorkSpec, out: Path, **kw) -> tuple[float, int]:
    start = time.perf_counter()
    stats = run_job(items, spec, Output(str(out) + "/", spec.labels()), **kw)
    return time.perf_counter() - start, stats.written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each video")
    ap.add_argument("--model", default="default")
    ap.add_argument("--actors", default="1,2,4", help="Ray actor counts to try ('' skips Ray)")
    ap.add_argument("--ray-address", help="a running cluster (HOST:PORT or auto); default: a local Ray instance")
    ap.add_argument("--nodes", type=int, default=4, help="cluster size for the multi-node estimate")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    spec = WorkSpec(model=args.model)
    root = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    make_archive(root, args.photos, args.videos, args.seconds)
    photos, _ = find_inputs([str(root / "photos")])
    videos, _ = find_inputs([str(root / "videos")])
    video_seconds = args.videos * args.seconds
    configs: list[tuple[str, int, dict]] = [
        ("local, in-process", 1, {"workers": 1}),
        ("local, 2 processes", 2, {"workers": 2, "threads": max(1, cores // 2)}),
    ]
    actor_counts = [int(a) for a in args.actors.split(",") if a.strip()]
    if actor_counts:
        import ray

        if args.ray_address:
            ray.init(address=args.ray_address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(cores, *actor_counts), include_dashboard=False, log_to_driver=False)
        configs += [
            (f"Ray, {n} actor(s) x 1 thread", n, {"ray": "auto", "workers": n, "threads": 1}) for n in actor_counts
        ]
    results = []
    for name, workers, kw in configs:
        run = len(results)
        t_photo, rows = timed(photos, spec, root / f"out{run}p", photos_per_task=4, **kw)
        t_video, vrows = timed(videos, spec, root / f"out{run}v", **kw)
        results.append(
            {
                "config": name,
                "workers": workers,
                "images_per_s": round(len(photos) / t_photo, 2),
                "video_s_per_s": round(video_seconds / t_video, 3),
                "photo_job_s": round(t_photo, 1),
                "video_job_s": round(t_video, 1),
                "rows": rows + vrows,
            }
        )
        print(json.dumps(results[-1]), flush=True)
    ray_rows = [r for r in results if r["config"].startswith("Ray")]
    best = max(ray_rows or results, key=lambda r: r["images_per_s"] / r["workers"])
    per_actor = {
        "images_per_s": best["images_per_s"] / best["workers"],
        "video_s_per_s": best["video_s_per_s"] / best["workers"],
    }
    estimate = {
        "from": best["config"],
        "per_actor": {k: round(v, 3) for k, v in per_actor.items()},
        "nodes": args.nodes,
        "actors_per_node": cores,
        "images_per_s": round(per_actor["images_per_s"] * cores * args.nodes, 1),
        "video_s_per_s": round(per_actor["video_s_per_s"] * cores * args.nodes, 2),
    }
    doc = {
        "machine": machine.describe(),
        "model": args.model,
        "photos": len(photos),
        "videos": args.videos,
        "video_seconds": video_seconds,
        "results": results,
        "cluster_estimate": estimate,
    }
    print(json.dumps({"machine": doc["machine"], "cluster_estimate": estimate}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()

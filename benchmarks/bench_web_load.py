"""Load on the web API: N concurrent clients posting 640x480 photos to /api/v1/analyze.

    python benchmarks/bench_web_load.py                          # 4 clients, 60 s, shipped model
    python benchmarks/bench_web_load.py --clients 8 --duration 30 --model exported/default --json
    python benchmarks/bench_web_load.py --clients 16 --duration 60 --workers 2 --max-inflight 4   # overload

Starts its own `emolens serve` on a free 127.0.0.1 port (never another host), warms
it up, then each client loops (bounded by --duration and --max-requests) over one
keep-alive connection. A 503 (the server's admission limit, EMOLENS_MAX_INFLIGHT) is
counted apart from errors, and the client waits its Retry-After before trying again, as a
polite client does. Prints requests/s, p50/p99 latency of the accepted requests, 503s,
errors, and the server's resident memory sampled every second (Linux /proc): before the
load, at its first and last second, and its peak.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from emolens.core import machine

HOST = "127.0.0.1"


def photo_640x480() -> tuple[bytes, bool]:
    """A 640x480 JPEG with one real face (skimage's astronaut, [dev] extra) or a drawn one."""
    canvas = np.full((480, 640, 3), (90, 100, 110), np.uint8)
    try:
        from skimage import data

        face, real = cv2.resize(np.ascontiguousarray(data.astronaut()[:, :, ::-1]), (400, 400)), True
    except ImportError:
        face, real = np.full((400, 400, 3), 120, np.uint8), False
        cv2.ellipse(face, (200, 160), (70, 95), 0, 0, 360, (150, 170, 200), -1)
    canvas[40:440, 120:520] = face
    return cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(), real


def multipart(field: str, filename: str, data: bytes, kind: str) -> tuple[bytes, str]:
    boundary = "emolens-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def start_server(args: argparse.Namespace, port: int, data_dir: str) -> subprocess.Popen:
    """The server, its log going to DATA_DIR/server.log: a pipe nobody reads would fill up under load and
    block the server on its next log line (it then never answers, nor stops)."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (("EMOLENS_WORKERS", args.workers), ("EMOLENS_MAX_INFLIGHT", args.max_inflight))})
    cmd = [
        sys.executable,
        "-m",
        "emolens.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--model",
        args.model,
        "--threads",
        str(args.threads),
        "--data-dir",
        data_dir,
    ]
    log_path = Path(data_dir) / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited: {log_path.read_text().strip()[-500:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit("the server did not answer /api/v1/health within 60 s")


def client(port: int, body: bytes, ctype: str, until: float, max_requests: int, out: dict) -> None:
    """One client: POST, wait for the answer, repeat; records latencies (s), 503s and errors.

    After a 503 it waits the answer's Retry-After (at most until the end of the run)."""
    conn, lat, errors = None, out["latencies"], out["errors"]
    for _ in range(max_requests):
        if time.monotonic() >= until:
            break
        try:
            conn = conn or http.client.HTTPConnection(HOST, port, timeout=60)
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/analyze", body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                lat.append(time.perf_counter() - t0)
            elif resp.status == 503:
                out["refused"] += 1
                wait = float(resp.getheader("Retry-After") or 1)
                time.sleep(max(0.0, min(wait, until - time.monotonic())))
            else:
                errors[str(resp.status)] = errors.get(str(resp.status), 0) + 1
        except (OSError, http.client.HTTPException) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            if conn:
                conn.close()
            conn = None
    if conn:
        conn.close()


def run_load(port: int, body: bytes, ctype: str, clients: int, duration: float, max_requests: int) -> dict:
    results: list[dict] = [{"latencies": [], "errors": {}, "refused": 0} for _ in range(clients)]
    until = time.monotonic() + duration
    threads = [threading.Thread(target=client, args=(port, body, ctype, until, max_requests, r)) for r in results]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r["latencies"])
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None  # noqa: E731
    return {
        "requests": len(lat),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(lat) / wall, 2),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(lat) * 1000 if lat else None,
        "refused_503": sum(r["refused"] for r in results),
        "errors": errors,
    }


class MemorySampler:
    """The server's resident memory once a second while the load runs (MB)."""

    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append(round(mb, 1))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="model for the server (default: %(default)s)")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (default: %(default)s)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=5, help="requests before measuring (default: %(default)s)")
    p.add_argument("--max-requests", type=int, default=100_000, help="per-client upper bound (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads in the server (default: %(default)s)")
    p.add_argument("--workers", type=int, default=0, help="EMOLENS_WORKERS (default: 0, one per core)")
    p.add_argument("--max-inflight", type=int, default=0, help="EMOLENS_MAX_INFLIGHT (default: 0, twice the workers)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    if args.clients < 1 or args.duration <= 0:
        p.error("--clients and --duration must be positive")

    photo, real = photo_640x480()
    body, ctype = multipart("image", "bench.jpg", photo, "image/jpeg")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="emolens-bench-") as data_dir:
        server = start_server(args, port, data_dir)
        try:
            run_load(port, body, ctype, 1, 30.0, args.warmup)  # first requests pay for lazy set-up
            rss_before = rss_mb(server.pid)
            with MemorySampler(server.pid) as memory:
                stats = run_load(port, body, ctype, args.clients, args.duration, args.max_requests)
            rss_after = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {
        "clients": args.clients,
        "duration_s": args.duration,
        "model": args.model,
        "threads": args.threads,
        "photo": "640x480 JPEG, " + ("astronaut (real face)" if real else "drawn face"),
        **stats,
        "server_rss_mb_before": rss_before,
        "server_rss_mb_after": rss_after,
        "server_rss_mb_first_second": memory.samples[0] if memory.samples else None,
        "server_rss_mb_peak": max(memory.samples, default=None),
        "workers": args.workers,
        "max_inflight": args.max_inflight,
        "machine": f"{machine.describe()}, Python {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    print(f"machine: {report['machine']}")
    print(f"{report['clients']} clients x {report['wall_s']} s, {report['photo']}, model {args.model}")
    print(f"  requests/s {report['requests_per_s']:.1f}   ({report['requests']} ok)")
    print(
        f"  latency    p50 {fmt(report['p50_ms'])} ms   p99 {fmt(report['p99_ms'])} ms   "
        f"mean {fmt(report['mean_ms'])} ms"
    )
    print(f"  503s       {report['refused_503']} (admission limit; the client waited Retry-After)")
    print(f"  errors     {sum(report['errors'].values())} {report['errors'] or ''}")
    print(
        f"  server RSS {fmt(rss_before)} MB before, {fmt(report['server_rss_mb_first_second'])} MB in the first "
        f"second of load, {fmt(rss_after)} MB after, peak {fmt(report['server_rss_mb_peak'])} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

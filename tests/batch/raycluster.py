"""A real Ray cluster for the batch tests: `ray start --head` on 127.0.0.1 plus one worker node, one CPU each.

Both are started by the test (in their own process groups, with --block so they stay in the
foreground) and stopped afterwards by their process ids: nothing else on the machine is touched.

Each job's driver runs in a child process (`in_driver`), as `emolens batch --ray` does: one ray.init and
one ray.shutdown per process. A driver that Ray brings down (a crash in its core worker at shutdown,
say) then fails its test with the cluster's logs instead of killing the pytest worker that runs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import emolens

OBJECT_STORE = str(100 * 1024 * 1024)
STARTUP_S = 240  # generous: the machine is shared


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_command() -> list[str]:
    beside = Path(sys.executable).with_name("ray")
    return [str(beside)] if beside.is_file() else [shutil.which("ray") or "ray"]


def in_driver(cluster: LocalCluster, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a fresh (spawned) interpreter with this process's environment; its result or its exception."""
    import multiprocessing

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            raise AssertionError(f"the job's driver process died (see the Ray logs):\n{cluster.logs()}") from None


class LocalCluster:
    """Start with `start()`, stop with `stop()`; `address` is what --ray takes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
        self.procs: list[subprocess.Popen] = []
        self._saved_auth: str | None = None
        src = str(Path(emolens.__file__).resolve().parents[1])  # the actors import this emolens
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p),
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "5",  # a test cluster has nothing to drain
            "RAY_AUTH_MODE": "disabled",  # as the driver (the test) connects: no token, whatever ~/.ray holds
        }

    def _start(self, *args: str) -> None:
        log = open(Path(self.temp) / f"node{len(self.procs)}.log", "wb")
        common = ["--block", "--num-cpus=1", f"--object-store-memory={OBJECT_STORE}", "--disable-usage-stats"]
        self.procs.append(
            subprocess.Popen(
                [*ray_command(), "start", *args, *common],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self) -> LocalCluster:
        self._saved_auth = os.environ.get("RAY_AUTH_MODE")
        os.environ["RAY_AUTH_MODE"] = "disabled"  # this process is the jobs' driver
        self._start(
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={self.port}",
            "--include-dashboard=false",
            f"--temp-dir={self.temp}",
        )
        self._wait(1)
        self._start(f"--address={self.address}", "--node-ip-address=127.0.0.1")
        self._wait(2)
        return self

    def _wait(self, cpus: int) -> None:
        """Until the cluster has `cpus` CPUs (one per node), asked in a fresh interpreter each time."""
        probe = (
            f"import ray; ray.init(address={self.address!r}, log_to_driver=False); "
            "print(int(ray.cluster_resources().get('CPU', 0))); ray.shutdown()"
        )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"a Ray node exited:\n{self.logs()}")
            out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=self.env)
            if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(cpus)]:
                return
            time.sleep(2)
        raise RuntimeError(
            f"the Ray cluster did not come up with {cpus} CPU(s) in {STARTUP_S} s; last probe: "
            f"{(out.stdout + out.stderr)[-1500:]}\n{self.logs()}"
        )

    def logs(self) -> str:
        """The end of each node's log and of the drivers' core-worker logs (the folder goes when the cluster stops)."""
        found = [*Path(self.temp).glob("node*.log"), *Path(self.temp).glob("session_*/logs/python-core-driver-*.log")]
        return "\n".join(f"{p.name}: ...{p.read_text(errors='replace')[-1500:]}" for p in found)

    def stop(self) -> None:
        if self._saved_auth is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = self._saved_auth
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(30)
        for p in self.procs:  # what the nodes started (raylet, workers) is in their process groups
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.temp, ignore_errors=True)

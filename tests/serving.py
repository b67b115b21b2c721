"""A real `emolens serve` for tests: started on a free 127.0.0.1 port, stopped (or killed) by the test.

Also a tiny multipart encoder (no HTTP client library needed) and the server's peak memory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Server:
    base: str
    proc: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (user + system, every thread): load does not inflate it."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_mb(self) -> float:
        """The server process's peak resident memory (VmHWM) in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM in /proc")


def wait_until_healthy(base: str, proc: subprocess.Popen, log: Path, timeout_s: float = 300) -> None:
    """Until GET /api/v1/health says ok; the server's log in the failure if it exits or never answers
    (generous by default: CI machines are shared and slow)."""
    import pytest

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as r:
                assert json.load(r)["status"] == "ok"
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(model: Path, data_dir: Path, **env: str) -> Iterator[Server]:
    """`python -m emolens.cli serve` with EMOLENS_* settings from env; terminated at the end if still alive."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    environ = {**os.environ, "EMOLENS_DATA_DIR": str(data_dir), **env}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emolens.cli",
                "serve",
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if request(server, "GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def request(
    server: Server,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, dict, dict]:
    """(status, JSON body or {"raw": text}, headers); HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(server.base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw, got = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as err:
        status, raw, got = err.code, err.read(), dict(err.headers)
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        doc = {"raw": raw.decode("utf-8", "replace")}
    return status, doc, got


def multipart(field: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def post_file(
    server: Server,
    path: str,
    field: str,
    filename: str,
    data: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict, float]:
    body, kind = multipart(field, filename, data, content_type)
    started = time.perf_counter()
    status, doc, _ = request(server, "POST", path, body, {**kind, **(headers or {})})
    return status, doc, time.perf_counter() - started

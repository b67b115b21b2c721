"""`emolens serve`: the web app and REST API, after checking everything that can fail, one line each."""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sqlite3

import uvicorn

from emolens.apps.db import SchemaError, open_database
from emolens.apps.registry import all_migrations
from emolens.cli.common import FORMATTER, CliError
from emolens.inference import versions
from emolens.inference.detectors import DEFAULT_DETECTOR, DetectorError, available_detectors
from emolens.web.app import create_app
from emolens.web.services.engine import Engine, build_engine
from emolens.web.settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = """examples:
  emolens serve                                   # http://127.0.0.1:8000 with the active model (emolens models)
  emolens serve --port 9000 --model exported/default
  emolens serve --model runs/try --threads 2
  EMOLENS_MAX_UPLOAD_MB=20 emolens serve          # every setting also reads EMOLENS_<NAME>

then open http://127.0.0.1:8000 (Photo, Live camera, Video) or http://127.0.0.1:8000/docs (REST API).
The live camera needs http://127.0.0.1/localhost or https: browsers refuse cameras on plain http elsewhere."""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    s = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=FORMATTER)
    # Defaults are None so EMOLENS_* variables apply; Settings holds the real defaults.
    s.add_argument("--host", help="interface to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, help="port (default: 8000)")
    s.add_argument(
        "--model",
        help="pin a model: 'default', a shipped model name, or a folder with model.onnx + card.json (default: the "
        "one `emolens models use` chose in the data folder, else the shipped default; the server follows changes)",
    )
    s.add_argument(
        "--detector", help=f"face detector: {' or '.join(available_detectors())} (default: {DEFAULT_DETECTOR})"
    )
    s.add_argument("--threads", type=int, help="ONNX Runtime threads per model (default: 1)")
    s.add_argument("--data-dir", help="folder for temporary job files (default: ~/.local/share/emolens)")
    s.add_argument("--max-upload-mb", type=float, help="photo and live-frame size limit (default: 10)")
    s.add_argument("--max-video-mb", type=float, help="video size limit (default: 200)")
    s.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Check everything that can fail (port, model, detector, database) before serving: one line each, exit 2."""
    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        model=args.model,
        detector=args.detector,
        threads=args.threads,
        data_dir=args.data_dir,
        max_upload_mb=args.max_upload_mb,
        max_video_mb=args.max_video_mb,
    )
    sock = listen_socket(settings.host, settings.port)  # first: a busy port is known before the model loads
    try:
        engine = _engine(settings)
        _check_database(settings)
        app = create_app(settings, engine=engine)
        log.info(
            "serving model %s on http://%s:%d (API docs at /docs)",
            engine.analyzer.card.name,
            settings.host,
            settings.port,
        )
        config = uvicorn.Config(
            app, log_level=settings.log_level, ws_max_size=settings.max_upload_bytes + 4096
        )  # a live frame: the photo limit
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket that uvicorn then serves on (so nothing can take the port in between)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {port} on {host} is already in use (another emolens serve?): stop that "
                f"program or pass --port {port + 1 if port < 65535 else 8000}"
            ) from None
        if exc.errno == errno.EACCES:
            raise CliError(f"port {port} on {host} needs more privileges: use a port above 1023") from None
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _engine(settings: Settings) -> Engine:
    """The model and detector, loaded once here and handed to the app (a bad one is one line, not a traceback)."""
    try:
        return build_engine(
            model=versions.served_model(settings.data_dir, settings.model),
            detector=settings.detector,
            threads=settings.threads,
            max_pixels=settings.max_pixels,
        )
    except DetectorError as exc:
        raise CliError(str(exc)) from None


def _check_database(settings: Settings) -> None:
    """Open (create, migrate) the apps' database once, so a folder without write access is one line."""
    try:
        open_database(settings.db_path, all_migrations())
    except (OSError, sqlite3.Error, SchemaError) as exc:
        raise CliError(
            f"cannot use the database {settings.db_path}: {exc} (set --data-dir or EMOLENS_DATA_DIR "
            "to a folder you can write)"
        ) from None

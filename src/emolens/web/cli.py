"""`emolens serve`: arguments and the command, kept here so emolens/cli.py stays small.

Importing this module is cheap: FastAPI, uvicorn and the engine load inside `serve`.
"""
from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)

EXAMPLES = """examples:
  emolens serve                                   # http://127.0.0.1:8000 with the shipped model
  emolens serve --port 9000 --model exported/default
  emolens serve --model runs/try --detector haar --threads 2
  EMOLENS_MAX_UPLOAD_MB=20 emolens serve          # every setting also reads EMOLENS_<NAME>

then open http://127.0.0.1:8000 (Photo, Live camera, Video) or http://127.0.0.1:8000/docs (REST API).
The live camera needs http://127.0.0.1/localhost or https: browsers refuse cameras on plain http elsewhere."""


def add_parsers(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    s = sub.add_parser("serve", help="run the web app and REST API", epilog=EXAMPLES, formatter_class=fmt)
    # Defaults are None so EMOLENS_* variables apply; Settings holds the real defaults.
    s.add_argument("--host", help="interface to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, help="port (default: 8000)")
    s.add_argument("--model", help="'default', a shipped model name, or a folder with model.onnx + card.json")
    s.add_argument("--detector", help="face detector: centerface (default) or haar")
    s.add_argument("--threads", type=int, help="ONNX Runtime threads per model (default: 1)")
    s.add_argument("--data-dir", help="folder for temporary job files (default: ~/.local/share/emolens)")
    s.add_argument("--max-upload-mb", type=float, help="photo and live-frame size limit (default: 10)")
    s.add_argument("--max-video-mb", type=float, help="video size limit (default: 200)")


def serve(args: argparse.Namespace) -> int:
    from emolens.inference.detectors import available_detectors
    from emolens.inference.model_store import load_card, resolve_model_dir
    from emolens.web.settings import Settings

    settings = Settings.from_env(host=args.host, port=args.port, model=args.model, detector=args.detector,
                                 threads=args.threads, data_dir=args.data_dir, max_upload_mb=args.max_upload_mb,
                                 max_video_mb=args.max_video_mb)
    # Check the model and detector now, so a typo is one line, not a traceback from the server's startup.
    card = load_card(resolve_model_dir(settings.model))
    if settings.detector not in available_detectors():
        raise ValueError(f"unknown detector {settings.detector!r}: choose one of {', '.join(available_detectors())}")

    import uvicorn

    from emolens.web.app import create_app

    log.info("serving model %s on http://%s:%d (API docs at /docs)", card.name, settings.host, settings.port)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                ws_max_size=settings.max_upload_bytes + 4096)  # a live frame: the photo limit
    return 0


HANDLERS = {"serve": serve}

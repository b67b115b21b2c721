"""Web settings: defaults, then EMOLENS_* environment variables, then explicit overrides (CLI flags).

    Settings.from_env()                       # EMOLENS_PORT=9000 EMOLENS_MODEL=runs/x ...
    Settings.from_env(port=9001, model="x")   # flags win over the environment
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "EMOLENS_"
MB = 1024 * 1024
CAMERA_VIEWS = ("show", "blur", "hide")
DEFAULT_NOTICE = ("This counter uses a camera to measure how satisfied customers are with our service. "
                  "Only numbers are kept (estimated facial expressions over time), never images or video, "
                  "and no one is identified. Ask a member of staff if you prefer the camera off.")


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/emolens, else ~/.local/share/emolens (created by the app, not here)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "emolens"


@dataclass(frozen=True)
class Settings:
    """Everything the server needs; each field reads from EMOLENS_<FIELD NAME IN CAPITALS>."""

    host: str = "127.0.0.1"
    port: int = 8000
    model: str = "default"  # 'default', a shipped model name, or a folder with model.onnx + card.json
    detector: str = "centerface"
    threads: int = 1  # ONNX Runtime threads per session
    max_upload_mb: float = 10.0  # photos and live frames
    max_pixels: int = 40_000_000  # width x height of a photo, read from its header before decoding
    max_decode_mb: float = 512.0  # memory the photo decodes in progress may hold together (one may use it all)
    max_decodes: int = 2  # photos decoded at the same time; more wait (503 after 30 s)
    max_video_mb: float = 200.0
    max_video_pixels: int = 8_847_360  # width x height of a video frame (4096 x 2160)
    max_video_seconds: float = 600.0  # longer videos are analysed up to this point (slower than 1 fps: frames)
    max_json_kb: float = 64.0  # body of every request that is not an upload (JSON, forms)
    body_timeout_s: float = 30.0  # a request body may take this long, plus 1 s per min_body_kbps received
    min_body_kbps: float = 16.0
    trusted_hosts: str = ""  # Host names served (comma list; '*' any); empty: host, localhost, 127.0.0.1, ::1
    video_every: int = 2  # run the face detector on every Nth video frame (tracks move between)
    live_alpha: float = 0.4  # EMA weight of the newest probabilities on the live camera
    max_jobs: int = 20  # video jobs kept (finished ones are dropped oldest first)
    job_ttl_s: float = 3600.0  # finished job results are forgotten after this
    data_dir: Path = field(default_factory=default_data_dir)  # job files, the apps' database (emolens.db)
    session_days: float = 14.0  # a browser stays signed in this long
    token_days: float = 90.0  # API tokens expire after this (a client may ask for less)
    login_user_failures: int = 5  # failed sign-ins per username before the backoff starts
    login_address_failures: int = 20  # failed sign-ins per client address before the backoff starts
    login_backoff_s: float = 2.0  # first wait after too many failures; doubles with each failure after it
    login_backoff_max_s: float = 900.0
    max_hashes: int = 2  # password checks (argon2id, 64 MiB each) at the same time; more wait, 503 after 10 s
    # customer satisfaction (docs/satisfaction.md)
    satisfaction_retention_days: float = 90.0  # service sessions older than this are deleted; 0 keeps them
    satisfaction_rule: str = "presence"  # who is the customer: presence (longest on screen) or largest
    satisfaction_roi: str = ""  # customer region x0,y0,x1,y1 (fractions of the frame); empty: whole frame
    satisfaction_staff_seconds: float = 0.0  # faces on screen in the first N s of a session are staff
    satisfaction_camera_view: str = "blur"  # counter page preview: show | blur | hide
    satisfaction_notice: str = DEFAULT_NOTICE  # shown on the counter camera page
    log_level: str = "info"

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1..65535, got {self.port}")
        for name in ("max_upload_mb", "max_pixels", "max_video_mb", "max_video_seconds", "video_every",
                     "max_jobs", "threads", "session_days", "max_decode_mb", "max_decodes", "max_video_pixels",
                     "max_json_kb", "body_timeout_s", "min_body_kbps", "token_days", "login_user_failures",
                     "login_address_failures", "login_backoff_s", "login_backoff_max_s", "max_hashes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 < self.live_alpha <= 1:
            raise ValueError(f"live_alpha must be in (0, 1], got {self.live_alpha}")
        if self.satisfaction_retention_days < 0 or self.satisfaction_staff_seconds < 0:
            raise ValueError("satisfaction_retention_days and satisfaction_staff_seconds must not be negative")
        if self.satisfaction_camera_view not in CAMERA_VIEWS:
            raise ValueError(f"satisfaction_camera_view must be one of {', '.join(CAMERA_VIEWS)}, "
                             f"got {self.satisfaction_camera_view!r}")
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_video_bytes(self) -> int:
        return int(self.max_video_mb * MB)

    @property
    def max_decode_bytes(self) -> int:
        return int(self.max_decode_mb * MB)

    @property
    def max_json_bytes(self) -> int:
        return int(self.max_json_kb * 1024)

    @property
    def token_ttl_s(self) -> int:
        return int(self.token_days * 86400)

    @property
    def db_path(self) -> Path:
        """The apps' SQLite file (accounts, journal, ...), created on first start."""
        return self.data_dir / "emolens.db"

    @property
    def session_ttl_s(self) -> int:
        return int(self.session_days * 86400)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults < EMOLENS_* variables < overrides (None values are ignored)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _convert(name: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None
    if kind == "Path":
        return Path(raw)
    return raw

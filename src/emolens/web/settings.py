"""Web settings: the shared AppSettings (emolens/settings.py) plus the server's own. Defaults, then EMOLENS_*
environment variables, then explicit overrides (CLI flags).

    Settings.from_env()                       # EMOLENS_PORT=9000 EMOLENS_MODEL=runs/x ...
    Settings.from_env(port=9001, model="x")   # flags win over the environment
"""

from __future__ import annotations

from dataclasses import dataclass

from emolens.core.defaults import DEFAULT_DETECTOR
from emolens.settings import ENV_PREFIX, AppSettings, default_data_dir

__all__ = ["ENV_PREFIX", "MB", "Settings", "default_data_dir"]

MB = 1024 * 1024
CAMERA_VIEWS = ("show", "blur", "hide")
CAMERA_ANALYSIS = ("any", "device")  # any: pages offer both, server first; device: camera frames are refused
DEFAULT_NOTICE = (
    "This counter uses a camera to measure how satisfied customers are with our service. "
    "Only numbers are kept (estimated facial expressions over time), never images or video, "
    "and no one is identified. Ask a member of staff if you prefer the camera off."
)


@dataclass(frozen=True)
class Settings(AppSettings):
    """Everything the server needs: the shared AppSettings (data folder, video reading, satisfaction scoring)
    and the server's own; each field reads from EMOLENS_<FIELD NAME IN CAPITALS>."""

    host: str = "127.0.0.1"
    port: int = 8000
    model: str = ""  # pinned: a shipped name or a folder; empty: data_dir's active model (`emolens models use`)
    detector: str = DEFAULT_DETECTOR
    threads: int = 1  # ONNX Runtime threads per session
    workers: int = 0  # threads running analyses on the one shared engine; 0: one per CPU core
    max_inflight: int = 0  # analyses admitted at once (running or waiting); more get 503; 0: twice the workers
    max_upload_mb: float = 10.0  # photos and live frames
    max_pixels: int = 40_000_000  # width x height of a photo, read from its header before decoding
    max_decode_mb: float = 512.0  # memory the photo decodes in progress may hold together (one may use it all)
    max_decodes: int = 2  # photos decoded at the same time; more wait (503 after 30 s)
    max_video_mb: float = 200.0
    max_video_pixels: int = 8_847_360  # width x height of a video frame (4096 x 2160)
    max_json_kb: float = 64.0  # body of every request that is not an upload (JSON, forms)
    body_timeout_s: float = 30.0  # a request body may take this long, plus 1 s per min_body_kbps received
    min_body_kbps: float = 16.0
    trusted_hosts: str = ""  # Host names served (comma list; '*' any); empty: host, localhost, 127.0.0.1, ::1
    max_jobs: int = 20  # video jobs kept (finished ones are dropped oldest first)
    job_ttl_s: float = 3600.0  # finished job results are forgotten after this
    session_days: float = 14.0  # a browser stays signed in this long
    token_days: float = 90.0  # API tokens expire after this (a client may ask for less)
    login_user_failures: int = 5  # failed sign-ins per username before the backoff starts
    login_address_failures: int = 20  # failed sign-ins per client address before the backoff starts
    login_backoff_s: float = 2.0  # first wait after too many failures; doubles with each failure after it
    login_backoff_max_s: float = 900.0
    max_hashes: int = 2  # password checks (argon2id, 64 MiB each) at the same time; more wait, 503 after 10 s
    # customer satisfaction's counter page (docs/satisfaction.md)
    satisfaction_camera_view: str = "blur"  # counter page preview: show | blur | hide
    satisfaction_notice: str = DEFAULT_NOTICE  # shown on the counter camera page
    camera_analysis: str = (
        "any"  # where camera frames are read: any (the user picks) | device (the server refuses them)
    )
    log_level: str = "info"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1..65535, got {self.port}")
        self.check_positive(
            "max_upload_mb",
            "max_pixels",
            "max_video_mb",
            "max_jobs",
            "threads",
            "session_days",
            "max_decode_mb",
            "max_decodes",
            "max_video_pixels",
            "max_json_kb",
            "body_timeout_s",
            "min_body_kbps",
            "token_days",
            "login_user_failures",
            "login_address_failures",
            "login_backoff_s",
            "login_backoff_max_s",
            "max_hashes",
        )
        if self.workers < 0 or self.max_inflight < 0:
            raise ValueError(
                f"workers and max_inflight must be 0 (automatic) or more, got {self.workers}, {self.max_inflight}"
            )
        if self.camera_analysis not in CAMERA_ANALYSIS:
            raise ValueError(
                f"camera_analysis must be one of {', '.join(CAMERA_ANALYSIS)}, got {self.camera_analysis!r}"
            )
        if self.satisfaction_camera_view not in CAMERA_VIEWS:
            raise ValueError(
                f"satisfaction_camera_view must be one of {', '.join(CAMERA_VIEWS)}, "
                f"got {self.satisfaction_camera_view!r}"
            )

    @property
    def device_only(self) -> bool:
        """Camera frames are read in the browser only: the live sockets and camera uploads refuse them."""
        return self.camera_analysis == "device"

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
    def session_ttl_s(self) -> int:
        return int(self.session_days * 86400)

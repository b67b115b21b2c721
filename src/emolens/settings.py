"""Settings the apps share with every front end: where data lives, how videos are read, how sessions are scored.

Defaults, then EMOLENS_* environment variables, then explicit overrides (CLI flags):

    AppSettings.from_env()                          # EMOLENS_DATA_DIR=/srv/emolens ...
    AppSettings.from_env(data_dir="~/journal")      # a flag wins over the environment

The web server's settings (emolens.web.settings.Settings) extend these with its own; the CLI
reads these alone, so finding the database never involves the web package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

ENV_PREFIX = "EMOLENS_"
DB_FILE = "emolens.db"

S = TypeVar("S", bound="AppSettings")


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/emolens, else ~/.local/share/emolens (created by the app, not here)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "emolens"


@dataclass(frozen=True)
class AppSettings:
    """Storage and app settings; each field reads from EMOLENS_<FIELD NAME IN CAPITALS>."""

    data_dir: Path = field(default_factory=default_data_dir)  # job files, the apps' database (emolens.db)
    video_every: int = 2  # run the face detector on every Nth video frame (tracks move between)
    live_alpha: float = 0.4  # EMA weight of the newest probabilities on the live camera
    max_video_seconds: float = 600.0  # longer videos are analysed up to this point (slower than 1 fps: frames)
    # customer satisfaction (docs/satisfaction.md)
    satisfaction_retention_days: float = 90.0  # service sessions older than this are deleted; 0 keeps them
    satisfaction_rule: str = "presence"  # who is the customer: presence (longest on screen) or largest
    satisfaction_roi: str = ""  # customer region x0,y0,x1,y1 (fractions of the frame); empty: whole frame
    satisfaction_staff_seconds: float = 0.0  # faces on screen in the first N s of a session are staff

    def __post_init__(self) -> None:
        self.check_positive("max_video_seconds", "video_every")
        if not 0 < self.live_alpha <= 1:
            raise ValueError(f"live_alpha must be in (0, 1], got {self.live_alpha}")
        if self.satisfaction_retention_days < 0 or self.satisfaction_staff_seconds < 0:
            raise ValueError("satisfaction_retention_days and satisfaction_staff_seconds must not be negative")
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())

    def check_positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def db_path(self) -> Path:
        """The apps' SQLite file (accounts, journal, sessions), created on first use."""
        return self.data_dir / DB_FILE

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None, **overrides: Any) -> S:
        """Defaults < EMOLENS_* variables < overrides (None values are ignored)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self: S, **changes: Any) -> S:
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

"""emolens.settings: the storage and app settings every front end shares; the web's Settings extend them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from emolens.settings import AppSettings
from emolens.web.settings import Settings


def test_defaults_then_environment_then_overrides(tmp_path):
    env = {"EMOLENS_DATA_DIR": str(tmp_path), "EMOLENS_VIDEO_EVERY": "3", "EMOLENS_SATISFACTION_RULE": "largest"}
    s = AppSettings.from_env(env)
    assert s.data_dir == tmp_path and s.db_path == tmp_path / "emolens.db"
    assert s.video_every == 3 and s.satisfaction_rule == "largest" and s.live_alpha == 0.4
    assert AppSettings.from_env(env, video_every=5, data_dir=None).video_every == 5  # None: not given
    with pytest.raises(ValueError, match="EMOLENS_VIDEO_EVERY='x' is not a valid int"):
        AppSettings.from_env({"EMOLENS_VIDEO_EVERY": "x"})
    with pytest.raises(ValueError, match="live_alpha"):
        AppSettings(live_alpha=0)


def test_the_web_settings_are_the_app_settings_and_the_servers_own(tmp_path):
    env = {"EMOLENS_DATA_DIR": str(tmp_path), "EMOLENS_PORT": "9001", "EMOLENS_SATISFACTION_STAFF_SECONDS": "2"}
    web = Settings.from_env(env)
    assert isinstance(web, AppSettings) and web.port == 9001 and web.satisfaction_staff_seconds == 2.0
    app = AppSettings.from_env(env)
    assert {f: getattr(web, f) for f in AppSettings.__dataclass_fields__} == app.__dict__
    with pytest.raises(ValueError, match="video_every must be positive"):
        Settings(video_every=0)  # the shared checks run for the server too


def test_the_cli_reads_the_app_settings(tmp_path, monkeypatch):
    from emolens.cli.common import settings

    monkeypatch.setenv("EMOLENS_DATA_DIR", str(tmp_path / "env"))
    args = argparse.Namespace(data_dir=None)
    assert type(settings(args)) is AppSettings and settings(args).data_dir == tmp_path / "env"
    assert settings(argparse.Namespace(data_dir=str(tmp_path / "flag"))).data_dir == Path(tmp_path / "flag")

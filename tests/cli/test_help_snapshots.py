"""`--help` of every verb and sub-verb, as users read it, compared with the texts in tests/cli/help/.

The snapshots were taken before the CLI moved into the emolens.cli package; a change in any help
text shows up here. After a deliberate change: EMOLENS_UPDATE_HELP=1 pytest tests/cli/test_help_snapshots.py
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from emolens.cli import main

HELP_DIR = Path(__file__).with_name("help")
JOURNAL = ("checkin", "calibrate", "summary", "list", "correct", "delete", "export", "password", "delete-account")
VERBS = [
    (),
    ("data",),
    ("train",),
    ("evaluate",),
    ("export",),
    ("analyze",),
    ("video",),
    ("webcam",),
    ("serve",),
    ("session",),
    *(("session", v) for v in ("analyze", "list", "report", "purge")),
    ("journal",),
    *(("journal", v) for v in JOURNAL),
]


def help_text(argv: tuple[str, ...]) -> str:
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


@pytest.mark.parametrize("argv", VERBS, ids=lambda v: "_".join(v) or "emolens")
def test_help_text_is_unchanged(argv, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    text = help_text(argv)
    path = HELP_DIR / (("_".join(argv) or "emolens") + ".txt")
    if os.environ.get("EMOLENS_UPDATE_HELP"):
        path.write_text(text)
    assert text.startswith("usage: emolens") and text == path.read_text()


USAGE_ERRORS = [("nosuch",), ("analyze",), ("journal",), ("session", "analyze", "x.mp4"), ("train", "--epochs", "x")]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids="_".join)
def test_usage_errors_are_unchanged(argv, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    with contextlib.redirect_stderr(io.StringIO()) as err, pytest.raises(SystemExit) as stop:
        main(list(argv))
    path = HELP_DIR / ("error_" + "_".join(argv).replace(".", "_") + ".txt")
    if os.environ.get("EMOLENS_UPDATE_HELP"):
        path.write_text(err.getvalue())
    assert stop.value.code == 2 and err.getvalue() == path.read_text()

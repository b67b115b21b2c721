"""`--help` of every verb and sub-verb, as users read it, compared with the texts in tests/cli/help/.

The snapshots were taken before the CLI moved into the emolens.cli package; a change in any help
text shows up here. The verbs come from emolens.cli.main.VERBS, so a new verb needs its snapshot.
After a deliberate change, or for a new verb: EMOLENS_UPDATE_HELP=1 pytest tests/cli/test_help_snapshots.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from pathlib import Path

import pytest

from emolens.cli import main
from emolens.cli.main import VERBS, build_parser

HELP_DIR = Path(__file__).with_name("help")


def all_verbs() -> list[tuple[str, ...]]:
    """(), every verb of emolens.cli.main.VERBS, and every sub-verb (journal checkin, session analyze ...)."""
    out: list[tuple[str, ...]] = [()]
    for verb in VERBS:
        out.append((verb,))
        parser = subparsers(build_parser(verb))[0].choices[verb]
        out += [(verb, sub) for group in subparsers(parser) for sub in group.choices]
    return out


def subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


VERB_LIST = all_verbs()


def help_text(argv: tuple[str, ...]) -> str:
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


@pytest.mark.parametrize("argv", VERB_LIST, ids=lambda v: "_".join(v) or "emolens")
def test_help_text_is_unchanged(argv, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    text = help_text(argv)
    path = HELP_DIR / (("_".join(argv) or "emolens") + ".txt")
    if os.environ.get("EMOLENS_UPDATE_HELP"):
        path.write_text(text)
    assert path.is_file(), f"no snapshot of `emolens {' '.join(argv)} --help`: take it with EMOLENS_UPDATE_HELP=1"
    assert text.startswith("usage: emolens") and text == path.read_text()


def test_every_snapshot_belongs_to_a_verb():
    names = {("_".join(v) or "emolens") + ".txt" for v in VERB_LIST}
    stale = {p.name for p in HELP_DIR.glob("*.txt") if not p.name.startswith("error_")} - names
    assert not stale and len(VERB_LIST) == 35


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

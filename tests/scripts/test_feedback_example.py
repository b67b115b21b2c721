"""docs/feedback.md's worked example is what `python scripts/feedback_example.py adaptation` prints, line for line."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_docs_table_is_what_the_script_prints():
    example = _load("feedback_example")
    rows = example.adaptation_example()
    doc = (ROOT / "docs" / "feedback.md").read_text()
    for line in example.format_adaptation(rows).splitlines():
        assert line in doc, line
    by_n = {r["corrections"]: r for r in rows}
    assert by_n[0]["accuracy_after"] == by_n[0]["accuracy_before"]  # no corrections: nothing changes
    assert by_n[20]["accuracy_after"] > by_n[20]["accuracy_before"] + 0.25
    assert not any(r["other_user_changed"] for r in rows)

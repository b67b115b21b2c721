"""CONTRIBUTING.md's recipes, followed in a copy of src/: each touches the number of files the guide says,
and what it adds works (a detector, an app on the web and in the CLI, a CLI verb, a model architecture)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "CONTRIBUTING.md"


@dataclass
class Recipe:
    new: dict[str, str]  # path under src/emolens -> its text
    # (path, how the line it follows starts, or None: at the end; the text put in)
    edits: list[tuple[str, str | None, str]] = field(default_factory=list)
    check: str = ""  # run in a fresh interpreter on the copy, with a scratch folder as argv[1]; prints "ok"

    def files(self) -> set[str]:
        return set(self.new) | {path for path, _, _ in self.edits}


DETECTOR = Recipe(
    new={
        "inference/detectors/whole.py": '''"""The whole picture as one face: for photos that are face crops already."""
from __future__ import annotations

from typing import Any

import numpy as np

from emolens.inference.detectors.base import Detection, Detector


class WholeImageDetector(Detector):
    name = "whole"
    default_threshold = 0.0

    def __init__(self, *, threads: int = 1, **kw: Any):
        super().__init__(**kw)

    def _detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        return [Detection((0.0, 0.0, float(w), float(h)), 1.0)]
'''
    },
    edits=[
        (
            "inference/detectors/__init__.py",
            '    "centerface": "emolens.inference.detectors.centerface:CenterFaceDetector",',
            '    "whole": "emolens.inference.detectors.whole:WholeImageDetector",',
        )
    ],
    check="""
import numpy as np
from emolens.inference.analyzer import Analyzer
from emolens.inference.detectors import available_detectors
assert "whole" in available_detectors()
faces = Analyzer("fast", "whole").analyze(np.full((96, 96, 3), 128, np.uint8))
assert len(faces) == 1 and faces[0].box == (0, 0, 96, 96), faces
print("ok")
""",
)

APP = Recipe(
    new={
        "apps/notes/__init__.py": '"""Notes: one line a day."""\n',
        "apps/notes/schema.py": '''from emolens.apps.db import Migration

MIGRATIONS = (
    Migration("notes", 1, "notes", sql="""
        CREATE TABLE notes (id INTEGER PRIMARY KEY,
                            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, text TEXT NOT NULL);
    """),
)
''',
        "apps/notes/app.py": """from __future__ import annotations

from pathlib import Path

from emolens.apps.db import Database
from emolens.apps.notes.schema import MIGRATIONS
from emolens.apps.spec import AppSpec


def forget_files(db: Database, user_id: int, data_dir: Path | None) -> None:
    if data_dir is not None:
        (data_dir / f"notes-{user_id}.txt").unlink(missing_ok=True)


APP = AppSpec("notes", MIGRATIONS, delete_account=forget_files)
""",
        "web/routers/notes/__init__.py": """from fastapi import APIRouter

from emolens.web.auth import CurrentUser, DbDep
from emolens.web.webapp import WebApp

router = APIRouter(prefix="/notes", tags=["notes"])


@router.get("")
def list_notes(user: CurrentUser, db: DbDep) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute("SELECT text FROM notes WHERE user_id = ?", (user.id,))]


WEB_APP = WebApp("notes", api=(router,))
""",
        "cli/notes.py": """import argparse

from emolens.cli.common import FORMATTER, account_args, database, local_account, settings


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    p = sub.add_parser(name, help=help, epilog="examples:\\n  emolens notes 'slept well'", formatter_class=FORMATTER)
    p.add_argument("text")
    account_args(p, "account (default: $EMOLENS_USER, else your login name)")
    p.set_defaults(handler=cmd_notes)


def cmd_notes(args: argparse.Namespace) -> int:
    db = database(settings(args))
    user = local_account(db, args)
    with db.write() as conn:
        conn.execute("INSERT INTO notes (user_id, text) VALUES (?, ?)", (user.id, args.text))
    print("noted")
    return 0
""",
    },
    edits=[
        (
            "apps/registry.py",
            "from emolens.apps.journal.app import APP as JOURNAL",
            "from emolens.apps.notes.app import APP as NOTES",
        ),
        ("apps/registry.py", "APPS: tuple[AppSpec, ...] = (JOURNAL, SATISFACTION)", "APPS = (*APPS, NOTES)"),
        (
            "web/app.py",
            "from emolens.web.routers.journal import WEB_APP as JOURNAL",
            "from emolens.web.routers.notes import WEB_APP as NOTES",
        ),
        ("web/app.py", "APPS: tuple[WebApp, ...] = (JOURNAL, SATISFACTION)", "APPS = (*APPS, NOTES)"),
        (
            "cli/main.py",
            '    "journal": ("journal", "mood journal: daily check-ins, trends, self-care suggestions"),',
            '    "notes": ("notes", "a note a day"),',
        ),
    ],
    check="""
import sys
from pathlib import Path
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations, delete_account
from emolens.cli import main
from emolens.web.app import create_app
from emolens.web.settings import Settings
data = Path(sys.argv[1])
assert main(["notes", "slept well", "--user", "robin", "--data-dir", str(data)]) == 0
db = open_database(data / "emolens.db", all_migrations())
assert db.versions()["notes"] == 1
with db.read() as conn:
    user_id = conn.execute("SELECT id FROM users WHERE username = 'robin'").fetchone()[0]
    assert conn.execute("SELECT text FROM notes").fetchone()[0] == "slept well"
(data / f"notes-{user_id}.txt").write_text("a file of the app")
assert delete_account(db, user_id, data_dir=data)
assert not (data / f"notes-{user_id}.txt").exists()
with db.read() as conn:
    assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
app = create_app(Settings(data_dir=data))
assert "/api/v1/notes" in app.openapi()["paths"]
print("ok")
""",
)

VERB = Recipe(
    new={
        "cli/hello.py": """import argparse

from emolens.cli.common import FORMATTER


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    p = sub.add_parser(name, help=help, epilog="examples:\\n  emolens hello --name Sam", formatter_class=FORMATTER)
    p.add_argument("--name", default="world")
    p.set_defaults(handler=cmd_hello)


def cmd_hello(args: argparse.Namespace) -> int:
    print(f"hello {args.name}")
    return 0
"""
    },
    edits=[
        (
            "cli/main.py",
            '    "journal": ("journal", "mood journal: daily check-ins, trends, self-care suggestions"),',
            '    "hello": ("hello", "say hello"),',
        )
    ],
    check="""
import contextlib, io
from emolens.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    assert main(["hello", "--name", "Sam"]) == 0
    with contextlib.suppress(SystemExit):
        main(["--help"])
assert out.getvalue().startswith("hello Sam") and "say hello" in out.getvalue()
print("ok")
""",
)

ARCHITECTURE = Recipe(
    new={},
    edits=[
        (
            "train/models.py",
            None,
            """

@register_model("tiny_mlp")
def tiny_mlp(*, num_classes: int = 7, in_chans: int = 1, width: int = 16) -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(8), nn.Flatten(), nn.Linear(in_chans * 64, width), nn.ReLU(),
                         nn.Linear(width, num_classes))
""",
        ),
    ],
    check="""
import torch
from emolens.train.models import create_model, list_models
assert "tiny_mlp" in list_models()
assert create_model("tiny_mlp", num_classes=8)(torch.zeros(2, 1, 48, 48)).shape == (2, 8)
print("ok")
""",
)

RECIPES = {"detector": DETECTOR, "app": APP, "CLI verb": VERB, "model architecture": ARCHITECTURE}


def files_in_guide(what: str) -> int:
    match = re.search(rf"^## A new {what}\n+Touches (\d+) files?\b", GUIDE.read_text(), re.M)
    assert match, f"CONTRIBUTING.md has no 'Touches N files' under '## A new {what}'"
    return int(match.group(1))


def copy_of_src(dst: Path) -> Path:
    """src/ copied (Python files) and linked (models, templates, assets) into dst."""

    def copy(src: str, out: str) -> None:
        shutil.copy2(src, out) if src.endswith(".py") else os.symlink(src, out)

    shutil.copytree(
        ROOT / "src", dst / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"), copy_function=copy
    )
    return dst / "src"


def follow(recipe: Recipe, src: Path) -> None:
    for path, text in recipe.new.items():
        (src / "emolens" / path).parent.mkdir(parents=True, exist_ok=True)
        (src / "emolens" / path).write_text(text)
    for path, after, text in recipe.edits:
        target = src / "emolens" / path
        lines = target.read_text().splitlines()
        if after is None:
            lines.append(text)
        else:
            found = [i for i, line in enumerate(lines) if line.strip().startswith(after.strip())]
            assert len(found) == 1, f"{path}: no line, or several, start with {after!r}"
            lines.insert(found[0] + 1, text)
        target.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("what", list(RECIPES))
def test_the_recipe_touches_the_files_the_guide_says_and_works(what, tmp_path):
    recipe = RECIPES[what]
    if what == "model architecture":
        pytest.importorskip("torch")
    assert len(recipe.files()) == files_in_guide(what), sorted(recipe.files())
    src = copy_of_src(tmp_path)
    follow(recipe, src)
    (tmp_path / "data").mkdir()
    env = {**os.environ, "PYTHONPATH": str(src), "EMOLENS_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-c", recipe.check, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


def test_the_copy_runs_the_copy_not_the_checkout(tmp_path):
    """The checks above import the edited copy: a module only the copy has is found."""
    src = copy_of_src(tmp_path)
    (src / "emolens" / "only_in_the_copy.py").write_text("WHERE = 'copy'\n")
    code = "import emolens, emolens.only_in_the_copy as m; print(m.WHERE, emolens.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        cwd=tmp_path,
    ).stdout.split()
    assert out[0] == "copy" and out[1].startswith(str(src))

"""Model versions in the data folder: installed models with their cards, the active one, and its history.

    data_dir/models/<name>/model.onnx + card.json     an installed model (`emolens models install`)
    data_dir/models/active.json                       {"active": name, "history": [{name, sha256, at}, ...]}

`emolens models use NAME` makes a model (installed, or shipped: 'default', 'fast') the active one;
`rollback` goes back to the one before. A server started without --model / EMOLENS_MODEL serves the
active model (the shipped default when none was chosen) and follows a change (web/services/engine.py).
Files are replaced atomically, so a server never reads half of one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emolens.core.card import CardError, ModelCard, sha256_file
from emolens.inference.model_store import load_card, packaged_models_dir, resolve_model_dir

MODELS = "models"
ACTIVE = "active.json"
DEFAULT = "default"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class VersionError(ValueError):
    """A model name or folder that cannot be installed, used or rolled back to; the message says what to do."""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    path: Path
    card: ModelCard
    shipped: bool
    active: bool

    @property
    def sha256(self) -> str:
        return self.card.onnx_sha256 or sha256_file(self.path / self.card.onnx_file)

    def to_dict(self) -> dict[str, Any]:
        finetune = self.card.train_config.get("finetune") or {}
        return {
            "name": self.name,
            "active": self.active,
            "shipped": self.shipped,
            "path": str(self.path),
            "sha256": self.sha256,
            "arch": self.card.arch,
            "labels": list(self.card.labels),
            "accuracy": self.card.metrics.get("accuracy"),
            "split": self.card.metrics.get("split"),
            "base": finetune.get("base"),
        }


def models_dir(data_dir: Path) -> Path:
    return Path(data_dir) / MODELS


def _shipped() -> list[str]:
    root = packaged_models_dir()
    return sorted(d.name for d in root.iterdir() if (d / "card.json").is_file()) if root.is_dir() else []


def _installed(data_dir: Path) -> list[str]:
    root = models_dir(data_dir)
    return sorted(d.name for d in root.iterdir() if (d / "card.json").is_file()) if root.is_dir() else []


def read_state(data_dir: Path) -> dict[str, Any]:
    """active.json ({"active": None, "history": []} before the first `models use`)."""
    path = models_dir(data_dir) / ACTIVE
    if not path.is_file():
        return {"active": None, "history": []}
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise VersionError(f"{path} is unreadable ({exc}): run `emolens models use NAME` to write it again") from None
    return {"active": state.get("active"), "history": list(state.get("history") or [])}


def state_stamp(data_dir: Path) -> tuple[int, int, int] | None:
    """Changes whenever active.json is replaced (a server compares it before each request that needs the model)."""
    try:
        st = os.stat(models_dir(data_dir) / ACTIVE)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def active_name(data_dir: Path) -> str:
    return read_state(data_dir)["active"] or DEFAULT


def find(data_dir: Path, name: str) -> Path:
    """The folder of an installed or shipped model called `name`."""
    if (models_dir(data_dir) / name / "card.json").is_file() and NAME_RE.fullmatch(name):
        return models_dir(data_dir) / name
    if name in _shipped():
        return packaged_models_dir() / name
    known = ", ".join([*_shipped(), *_installed(data_dir)])
    raise VersionError(f"no model called {name!r}: `emolens models list` shows them ({known})")


def served_model(data_dir: Path, pinned: str | None) -> str:
    """What a server serves: the model it was told (--model, EMOLENS_MODEL), else the active one in data_dir."""
    if pinned:
        return pinned
    return str(find(data_dir, active_name(data_dir)))


def list_models(data_dir: Path) -> list[ModelVersion]:
    """Shipped models, then installed ones, each with its card; the active one marked."""
    active = active_name(data_dir)
    out = []
    for name in _shipped():
        out.append(ModelVersion(name, packaged_models_dir() / name, _card(packaged_models_dir() / name), True, False))
    for name in _installed(data_dir):
        out.append(ModelVersion(name, models_dir(data_dir) / name, _card(models_dir(data_dir) / name), False, False))
    return [ModelVersion(m.name, m.path, m.card, m.shipped, m.name == active) for m in out]


def _card(folder: Path) -> ModelCard:
    try:
        return load_card(folder, verify=False)
    except CardError as exc:
        raise VersionError(f"{folder}: {exc}") from None


def show(data_dir: Path, name: str) -> ModelVersion:
    folder = find(data_dir, name)
    shipped = folder.parent == packaged_models_dir()
    return ModelVersion(name, folder, _card(folder), shipped, name == active_name(data_dir))


def install(data_dir: Path, source: str | Path, name: str | None = None) -> ModelVersion:
    """Copy a model folder (model.onnx, its int8 graph if any, card.json; checked against their sha256) into
    data_dir/models/<name>."""
    folder = resolve_model_dir(source)
    card = load_card(folder)  # verifies the sha256 the card records
    name = name or card.name
    if not NAME_RE.fullmatch(name):
        raise VersionError(f"model name {name!r}: use up to 64 letters, digits, '.', '_' or '-' (pass --name)")
    if name in _shipped():
        raise VersionError(f"{name!r} is a shipped model's name: install it under another one (--name)")
    sha = sha256_file(folder / card.onnx_file)
    target = models_dir(data_dir) / name
    if (target / "card.json").is_file():
        if show(data_dir, name).sha256 == sha:
            return show(data_dir, name)  # installed already: the same file
        raise VersionError(f"a different model is installed as {name!r}: pick another name (--name)")
    models_dir(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=models_dir(data_dir)))
    try:
        shutil.copyfile(folder / card.onnx_file, staging / card.onnx_file)
        if card.int8_file:  # the graph the runtime reads with travels with the float one
            shutil.copyfile(folder / card.int8_file, staging / card.int8_file)
        card.with_(name=name, onnx_sha256=sha).save(staging / "card.json")
        os.replace(staging, target)  # the folder appears whole, card included
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return show(data_dir, name)


def _write_state(data_dir: Path, state: dict[str, Any]) -> None:
    models_dir(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = models_dir(data_dir) / f".{ACTIVE}.{os.getpid()}"
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    os.replace(tmp, models_dir(data_dir) / ACTIVE)


def use(data_dir: Path, name: str) -> ModelVersion:
    """Make `name` the active model (a server that follows the data folder switches at its next request)."""
    chosen = show(data_dir, name)
    _card_loads(chosen)
    state = read_state(data_dir)
    history = state["history"] or [_entry(show(data_dir, active_name(data_dir)))]  # the first switch: from default
    if history[-1]["name"] != name or history[-1]["sha256"] != chosen.sha256:
        history.append(_entry(chosen))
    _write_state(data_dir, {"active": name, "history": history})
    return show(data_dir, name)


def _card_loads(version: ModelVersion) -> None:
    """The model file is there and matches its card (a server would refuse it otherwise)."""
    try:
        load_card(version.path)
    except CardError as exc:
        raise VersionError(str(exc)) from None


def _entry(version: ModelVersion) -> dict[str, str]:
    return {"name": version.name, "sha256": version.sha256, "at": datetime.now(timezone.utc).isoformat()[:19] + "Z"}


def rollback(data_dir: Path) -> ModelVersion:
    """Go back to the model that was active before the current one."""
    state = read_state(data_dir)
    history = state["history"]
    if len(history) < 2:
        raise VersionError("nothing to roll back to: no model was active before this one (`emolens models list`)")
    history.pop()
    previous = history[-1]["name"]
    version = show(data_dir, previous)
    _card_loads(version)
    _write_state(data_dir, {"active": previous, "history": history})
    return show(data_dir, previous)


def remove(data_dir: Path, name: str) -> None:
    """Delete an installed model (not the active one, nor a shipped one)."""
    if name in _shipped():
        raise VersionError(f"{name!r} is shipped with emolens and cannot be removed")
    if name == active_name(data_dir):
        raise VersionError(f"{name!r} is the active model: `emolens models use` another first")
    folder = find(data_dir, name)
    shutil.rmtree(folder)

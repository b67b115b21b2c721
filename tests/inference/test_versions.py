"""Model versions in the data folder (inference/versions.py): install, use, rollback, remove, and their refusals."""

from __future__ import annotations

import json

import pytest

from emolens.core.card import sha256_file
from emolens.inference import versions

from helpers import make_tiny_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("versions")
    return make_tiny_model(root / "a", seed=1), make_tiny_model(root / "b", seed=2)


def test_use_and_rollback_keep_a_history(tmp_path, models):
    a, b = models
    assert versions.active_name(tmp_path) == "default" and versions.served_model(tmp_path, None).endswith("default")
    assert versions.served_model(tmp_path, "fast") == "fast"  # a pinned model wins
    assert versions.install(tmp_path, a, "tiny-a").card.name == "tiny-a"
    assert versions.use(tmp_path, "tiny-a").active
    installed = versions.install(tmp_path, b, "second")
    assert installed.name == "second" and installed.sha256 == sha256_file(b / "model.onnx")
    versions.use(tmp_path, "second")
    assert versions.served_model(tmp_path, None) == str(tmp_path / "models" / "second")
    state = json.loads((tmp_path / "models" / "active.json").read_text())
    assert [h["name"] for h in state["history"]] == ["default", "tiny-a", "second"]
    assert versions.rollback(tmp_path).name == "tiny-a"
    assert versions.rollback(tmp_path).name == "default"
    with pytest.raises(versions.VersionError, match="nothing to roll back to"):
        versions.rollback(tmp_path)
    listed = {m.name: m for m in versions.list_models(tmp_path)}
    assert {"default", "fast", "tiny-a", "second"} <= set(listed)
    assert listed["default"].active and listed["default"].shipped and not listed["second"].shipped


def test_refusals_say_what_to_do(tmp_path, models):
    a, b = models
    with pytest.raises(versions.VersionError, match="no model called 'nosuch'"):
        versions.use(tmp_path, "nosuch")
    with pytest.raises(versions.VersionError, match="shipped model's name"):
        versions.install(tmp_path, a, "default")
    with pytest.raises(versions.VersionError, match="model name"):
        versions.install(tmp_path, a, "../escape")
    versions.install(tmp_path, a, "mine")
    assert versions.install(tmp_path, a, "mine").name == "mine"  # the same file again: nothing to do
    with pytest.raises(versions.VersionError, match="a different model is installed as 'mine'"):
        versions.install(tmp_path, b, "mine")
    versions.use(tmp_path, "mine")
    with pytest.raises(versions.VersionError, match="the active model"):
        versions.remove(tmp_path, "mine")
    with pytest.raises(versions.VersionError, match="shipped"):
        versions.remove(tmp_path, "default")
    (tmp_path / "models" / "mine" / "model.onnx").write_bytes(b"not the model")  # tampered after install
    with pytest.raises(versions.VersionError):
        versions.use(tmp_path, "mine")
    (tmp_path / "models" / "active.json").write_text("{broken")
    with pytest.raises(versions.VersionError, match="unreadable"):
        versions.active_name(tmp_path)


def test_install_copies_the_int8_graph_a_card_names(tmp_path, models):
    """A folder whose card names an int8 graph (as `default`'s does) is installed whole: the runtime reads with it."""
    import shutil

    from emolens.core.card import ModelCard
    from emolens.inference.classifier import Classifier

    src = tmp_path / "src"
    shutil.copytree(models[0], src)
    shutil.copyfile(src / "model.onnx", src / "model.int8.onnx")  # any loadable graph: the copy is what is tested
    card = ModelCard.load(src / "card.json")
    card.with_(int8_file="model.int8.onnx", int8_sha256=sha256_file(src / "model.int8.onnx")).save(src / "card.json")
    installed = versions.install(tmp_path / "data", src, "with-int8")
    assert (installed.path / "model.int8.onnx").is_file() and installed.card.int8_file == "model.int8.onnx"
    assert Classifier(installed.path).precision == "int8"

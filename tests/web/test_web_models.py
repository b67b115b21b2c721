"""A server without a pinned model serves the data folder's active one and follows `models use` and `rollback`
(torch-free: two tiny generated models); readings record the model that read them; a broken switch keeps serving."""

from __future__ import annotations

import logging

import pytest

from emolens.core.card import sha256_file
from emolens.inference import versions

from helpers import make_tiny_model, sign_up


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    return make_tiny_model(root / "a", seed=1), make_tiny_model(root / "b", seed=2)


def test_the_server_follows_use_and_rollback(make_client, settings, two_models, astronaut_jpeg, caplog):
    a, b = two_models
    data = settings.data_dir
    versions.install(data, a, "tiny-a")
    versions.install(data, b, "tiny-b")
    versions.use(data, "tiny-a")
    client = make_client(model="")  # not pinned: the active model
    sha_a, sha_b = sha256_file(a / "model.onnx"), sha256_file(b / "model.onnx")
    assert client.get("/api/v1/model").json()["sha256"] == sha_a
    alice = sign_up(client, "alice")
    photo = {"image": ("me.jpg", astronaut_jpeg, "image/jpeg")}
    assert client.post("/api/v1/journal/checkins", headers=alice, files=photo).json()["model_sha256"] == sha_a

    versions.use(data, "tiny-b")
    assert client.get("/api/v1/model").json()["sha256"] == sha_b
    assert client.post("/api/v1/journal/checkins", headers=alice, files=photo).json()["model_sha256"] == sha_b
    summary = client.get("/api/v1/journal/summary?days=7&group=day", headers=alice).json()
    assert [(c["previous"], c["sha256"]) for c in summary["model_changes"]] == [(sha_a, sha_b)]

    versions.rollback(data)
    assert client.get("/api/v1/model").json()["sha256"] == sha_a

    (data / "models" / "active.json").write_text("{not json")  # a broken switch: logged, the old model served on
    with caplog.at_level(logging.ERROR, logger="emolens.web.services.engine"):
        r = client.get("/api/v1/model")
    assert r.status_code == 200 and r.json()["sha256"] == sha_a
    assert "could not switch models" in caplog.text


def test_a_pinned_model_ignores_the_active_one(make_client, settings, two_models, tiny_model):
    a, _ = two_models
    versions.install(settings.data_dir, a, "tiny-a")
    versions.use(settings.data_dir, "tiny-a")
    client = make_client()  # settings pin the tiny test model
    assert client.get("/api/v1/model").json()["sha256"] == sha256_file(tiny_model / "model.onnx")

"""`emolens finetune` end to end on generated data: a tiny base model trained and exported here, journal users who
contributed corrected crops, the gate refusing a model made worse on purpose, the card, and `emolens models`
serving what it made."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

torch = pytest.importorskip("torch")

from emolens.apps import accounts  # noqa: E402
from emolens.apps.db import open_database  # noqa: E402
from emolens.apps.journal import checkin as usecase  # noqa: E402
from emolens.apps.journal import contributions, store  # noqa: E402
from emolens.apps.journal.readings import Reading  # noqa: E402
from emolens.apps.registry import all_migrations  # noqa: E402
from emolens.cli import main  # noqa: E402
from emolens.core.card import ModelCard, sha256_file  # noqa: E402
from emolens.core.labels import EMOTIONS  # noqa: E402
from emolens.web import Settings, create_app  # noqa: E402
from emolens.web.auth import get_hasher  # noqa: E402

from datagen import face_like, write_class_tree, zip_tree  # noqa: E402
from helpers import astronaut_bgr, sign_up  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fer(tmp_path_factory) -> Path:
    """A FER2013-like zip: Training and PublicTest folders of generated 48x48 'faces' (7 x 20 and 7 x 8)."""
    tmp = tmp_path_factory.mktemp("fer")
    tree = write_class_tree(tmp / "tree", per_class=20, splits=("train",))
    write_class_tree(tree, per_class=8, splits=("test",))
    return zip_tree(tree, tmp / "fer2013.zip", wrapper="fer2013/")


class Brightness(torch.nn.Module):
    """Reads a generated face's class from its mean brightness: logits 2 c_k x - c_k^2 (nearest centre c_k)."""

    def __init__(self, centres: np.ndarray):
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(1, len(centres))
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor(2 * centres, dtype=torch.float32)[:, None])
            self.head.bias.copy_(torch.tensor(-(centres**2), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 48, 48) -> (B, 7)
        return self.head(self.pool(x).flatten(1))


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    """An exported model (model.onnx + card.json, as the shipped ones) that reads the generated faces right:
    the model to fine-tune. Built by hand, so the test needs no training run to reach a perfect base."""
    from emolens.core.preprocess import preprocess
    from emolens.train.export import export_onnx

    card = ModelCard(name="base", arch="brightness", temperature=0.05)
    faces = np.stack([face_like(label, seed) for label in range(7) for seed in range(20)])
    x = preprocess(faces, card).mean(axis=(1, 2, 3)).reshape(7, 20)
    model = Brightness(x.mean(1)).eval()
    out = tmp_path_factory.mktemp("base") / "model"
    out.mkdir()
    export_onnx(model, card, out / "model.onnx")
    card.with_(onnx_sha256=sha256_file(out / "model.onnx")).save(out / "card.json")
    return out


def feedback_db(folder: Path, per_class: int = 4) -> Path:
    """Two journal users whose photo check-ins were corrected, each with its 48x48 crop contributed; plus one
    contributed crop without a correction and one corrected check-in without a contribution (neither is used)."""
    db = open_database(folder / "emolens.db", all_migrations())
    users = [accounts.local_user(db, name, hasher=accounts.password_hasher(fast=True)) for name in ("ana", "ben")]
    reading = Reading(shares=dict.fromkeys(EMOTIONS, 1 / 7), confidence=0.3, frames=1, total_frames=1)
    for label, name in enumerate(EMOTIONS):
        for i in range(per_class):
            user = users[i % 2]
            crop = face_like(label, 1000 + 10 * label + i)
            c = store.add_checkin(db, user.id, reading, source="photo", contribution=contributions.pixels(crop))
            usecase.edit_checkin(db, user.id, c.id, corrected=name)
    store.add_checkin(db, users[0].id, reading, source="photo", contribution=contributions.pixels(face_like(0, 7)))
    c = store.add_checkin(db, users[1].id, reading, source="photo")
    usecase.edit_checkin(db, users[1].id, c.id, corrected="sad")
    return folder / "emolens.db"


def test_finetune_end_to_end_gate_card_and_serving(tmp_path, base_model, fer, capsys):
    db = feedback_db(tmp_path)
    assert len(contributions.training_crops(open_database(db)).labels) == 7 * 4  # corrected contributions only

    worse = tmp_path / "worse"
    code = main(["finetune", "--feedback", str(db), "--base", str(base_model), "--out", str(worse),
                 "--data", str(fer), "--lr", "50", "--epochs", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3, err
    assert "refused" in err and "PublicTest" in err and "nothing was written" in err
    assert not worse.exists() or not any(worse.iterdir())

    out = tmp_path / "ft"
    code = main(["finetune", "--feedback", str(db), "--base", str(base_model), "--out", str(out),
                 "--data", str(fer), "--lr", "0.001", "--epochs", "1", "--name", "base-ft1", "--json"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads(printed[printed.index("{") :])
    assert report["gate"]["passed"] and report["gate"]["publictest_drop_points"] <= 0.5
    assert report["publictest"]["before"]["accuracy"] == 100.0  # the base reads the generated faces right
    card = ModelCard.load(out / "card.json")
    assert card.name == "base-ft1" and card.onnx_sha256 == sha256_file(out / "model.onnx")
    ft = card.train_config["finetune"]
    base_card = ModelCard.load(base_model / "card.json")
    assert ft["base"] == {"name": "base", "sha256": sha256_file(base_model / "model.onnx"), "arch": base_card.arch}
    assert ft["feedback"]["crops"] == 28 and ft["feedback"]["users"] == 2
    assert ft["feedback"]["train"] + ft["feedback"]["heldout"] == 28 and ft["feedback"]["heldout"] >= 1
    assert ft["feedback"]["per_class"] == dict.fromkeys(sorted(EMOTIONS), 4)
    assert ft["fer2013_train_mixed"] == int(np.ceil(3.0 * ft["feedback"]["train"]))
    evaluation = card.metrics["finetune_evaluation"]
    for part in ("publictest", "feedback_heldout"):
        assert set(evaluation[part]) == {"before", "after"}
    assert evaluation["publictest"]["after"]["n"] == 7 * 8
    assert card.metrics["accuracy"] == pytest.approx(evaluation["publictest"]["after"]["accuracy"] / 100, abs=1e-4)
    text = json.dumps(card.to_dict())
    assert len(text) < 8000 and "ana" not in text and "ben" not in text  # counts only: no pixels, no user names

    # serve it: `models use` the folder, a server following the data folder serves it, and readings record it
    data = tmp_path / "data"
    assert main(["models", "use", str(base_model), "--data-dir", str(data)]) == 0
    app = create_app(Settings(data_dir=data, trusted_hosts="testserver"))
    app.dependency_overrides[get_hasher] = lambda: accounts.password_hasher(fast=True)
    with TestClient(app) as client:
        assert client.get("/api/v1/model").json()["sha256"] == sha256_file(base_model / "model.onnx")
        assert main(["models", "use", str(out), "--data-dir", str(data)]) == 0
        assert client.get("/api/v1/model").json()["sha256"] == card.onnx_sha256
        headers = sign_up(client, "cleo")
        jpeg = cv2.imencode(".jpg", astronaut_bgr())[1].tobytes()
        r = client.post("/api/v1/journal/checkins", headers=headers, files={"image": ("me.jpg", jpeg, "image/jpeg")})
        assert r.status_code == 201 and r.json()["model_sha256"] == card.onnx_sha256
        assert main(["models", "rollback", "--data-dir", str(data)]) == 0
        assert client.get("/api/v1/model").json()["sha256"] == sha256_file(base_model / "model.onnx")


def test_a_base_read_with_int8_is_tuned_from_its_float_graph_and_its_successor_gets_int8_too(
    tmp_path, base_model, fer, capsys
):
    """`default` ships an int8 graph beside its float one: fine-tuning starts from (and gates against) the float
    graph, and the fine-tuned model is quantized too, so serving it does not fall back to a slower float."""
    import shutil

    from emolens.inference.classifier import Classifier
    from emolens.train.quantize import quantize_model

    base = tmp_path / "base"
    shutil.copytree(base_model, base)
    quantize_model(base, base, fer, crops=40)
    assert Classifier(base).precision == "int8"
    out = tmp_path / "ft"
    code = main(["finetune", "--feedback", str(feedback_db(tmp_path)), "--base", str(base), "--out", str(out),
                 "--data", str(fer), "--lr", "0.001", "--epochs", "1", "--json"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    card = ModelCard.load(out / "card.json")
    assert card.int8_file == "model.int8.onnx" and card.int8_sha256 == sha256_file(out / "model.int8.onnx")
    assert card.train_config["finetune"]["base"]["sha256"] == sha256_file(base / "model.onnx")  # the float graph
    assert card.metrics["int8"]["n"] == 7 * 8 and card.metrics["finetune_evaluation"]["publictest"]["after"]
    assert Classifier(out).precision == "int8"

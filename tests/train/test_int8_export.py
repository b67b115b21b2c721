"""`emolens export --int8`: static int8 models calibrated on Training crops, compared with the float model.

On generated data with a small conv model (any machine with the [train] extra's onnx), and the parity
the issue asks for on real PublicTest crops with the shipped `default` model (needs FER2013).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from emolens.cli import main  # noqa: E402
from emolens.core.card import CardError, ModelCard, sha256_file  # noqa: E402
from emolens.core.labels import EMOTIONS  # noqa: E402
from emolens.datasets.readers import read_dataset  # noqa: E402
from emolens.inference.classifier import Classifier  # noqa: E402
from emolens.inference.model_store import load_card, resolve_model_dir  # noqa: E402
from emolens.train.quantize import float_weights  # noqa: E402

from datagen import FER_ZIP, write_class_tree  # noqa: E402
from helpers import save_model  # noqa: E402


def conv_model(folder: Path, *, half: bool = False) -> Path:
    """model.onnx + card.json: conv 3x3 to 8 channels, ReLU, global pool, Gemm to 7 logits; `half`: weights stored
    as float16 behind Cast nodes, as `emolens export --half` writes them."""
    rng = np.random.default_rng(0)
    weights = {
        "cw": rng.normal(0, 0.5, (8, 1, 3, 3)).astype(np.float32),
        "W": rng.normal(0, 1.0, (len(EMOTIONS), 8)).astype(np.float32),
    }
    inits, nodes = [numpy_helper.from_array(np.zeros(len(EMOTIONS), np.float32), "b")], []
    for name, w in weights.items():
        if half:
            inits.append(numpy_helper.from_array(w.astype(np.float16), name + "__fp16"))
            nodes.append(helper.make_node("Cast", [name + "__fp16"], [name], to=TensorProto.FLOAT))
        else:
            inits.append(numpy_helper.from_array(w, name))
    nodes += [
        helper.make_node("Conv", ["input", "cw"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["act"]),
        helper.make_node("GlobalAveragePool", ["act"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W", "b"], ["logits"], transB=1),
    ]
    fields = {"name": "conv", "arch": "conv", "labels": EMOTIONS, "tta": ("flip",), "metrics": {"accuracy": 0.5}}
    return save_model(folder, nodes, inits, len(EMOTIONS), **fields)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = write_class_tree(tmp_path_factory.mktemp("data") / "d", per_class=12, splits=("train",))
    return write_class_tree(root, per_class=8, splits=("test",))


def int8_initializers(path: Path) -> int:
    return sum(i.data_type == TensorProto.INT8 for i in onnx.load(str(path)).graph.initializer)


@pytest.mark.parametrize("half", [False, True], ids=["float32", "float16-stored"])
def test_export_int8_writes_a_calibrated_int8_model_and_compares_it(tmp_path, data, half, capsys):
    model = conv_model(tmp_path / "float", half=half)
    out = tmp_path / "int8"
    assert main(["export", str(model), "--int8", "--data", str(data), "--out", str(out), "--int8-crops", "40"]) == 0
    assert "agrees with float" in capsys.readouterr().out
    card = json.loads((out / "card.json").read_text())
    int8 = card["metrics"]["int8"]
    assert int8["calibration_crops"] == 40 and int8["split"] == "test" and int8["n"] == 8 * len(EMOTIONS)
    assert 0.75 <= int8["agreement"] <= 1, int8  # random weights: near ties; the real parity is the last test
    assert card["metrics"]["accuracy"] == 0.5 and card["tta"] == ["flip"]  # the rest of the card is the float one's
    assert card["onnx_sha256"] == sha256_file(out / "model.onnx")
    assert int8_initializers(out / "model.onnx") >= 2  # the conv and Gemm weights, as int8
    ops = {n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "Cast" not in ops
    crops = np.random.default_rng(1).integers(0, 256, (20, 48, 48), dtype=np.uint8)
    ref, got = Classifier(model).predict(crops), Classifier(out).predict(crops)  # the runtime loads it as it is
    assert got.shape == ref.shape and np.abs(got - ref).mean() < 0.02 and not np.array_equal(got, ref)


def test_float_weights_folds_half_stored_weights_back_to_float32(tmp_path):
    model = float_weights(onnx.load(str(conv_model(tmp_path / "m", half=True) / "model.onnx")))
    assert [n.op_type for n in model.graph.node if n.op_type == "Cast"] == []
    inits = {i.name: i for i in model.graph.initializer}
    assert {"cw", "W", "b"} == set(inits) and all(i.data_type == TensorProto.FLOAT for i in inits.values())
    onnx.checker.check_model(model)


def test_export_int8_errors_are_one_line(tmp_path, data, capsys):
    model = conv_model(tmp_path / "float")
    assert main(["export", str(model), "--int8", "--out", str(tmp_path / "o")]) == 2
    assert "--int8 needs --data" in capsys.readouterr().err
    only_test = write_class_tree(tmp_path / "t", per_class=2, splits=("test",))
    assert main(["export", str(model), "--int8", "--data", str(only_test), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "has no train split" in err and "needs Training crops" in err
    assert (
        main(["export", str(model), "--int8", "--data", str(data), "--out", str(tmp_path / "o"), "--int8-crops", "0"])
        == 2
    )


def test_export_int8_into_the_models_own_folder_adds_an_int8_graph_the_runtime_reads(tmp_path, data, capsys):
    model = conv_model(tmp_path / "m")
    float_sha = sha256_file(model / "model.onnx")
    assert main(["export", str(model), "--int8", "--data", str(data), "--out", str(model), "--int8-crops", "40"]) == 0
    assert f"wrote the int8 model {model / 'model.int8.onnx'}" in capsys.readouterr().out
    card = load_card(model)  # both graphs checked against the card
    assert card.onnx_file == "model.onnx" and card.onnx_sha256 == float_sha == sha256_file(model / "model.onnx")
    assert card.int8_file == "model.int8.onnx" and card.int8_sha256 == sha256_file(model / "model.int8.onnx")
    int8 = card.metrics["int8"]
    assert int8["n"] == 8 * len(EMOTIONS)
    # The temperature and the card's metrics were refitted for the graph that now reads faces.
    assert card.metrics["temperature_fit"] == "brier" and card.metrics["accuracy"] == round(int8["accuracy_int8"], 4)
    assert int8_initializers(model / "model.int8.onnx") >= 2 and int8_initializers(model / "model.onnx") == 0
    auto, flt = Classifier(model), Classifier(model, precision="float")
    assert (auto.precision, flt.precision) == ("int8", "float")
    assert auto.sha256 == card.int8_sha256 and flt.sha256 == float_sha  # readings say which graph made them
    crops = np.random.default_rng(1).integers(0, 256, (20, 48, 48), dtype=np.uint8)
    ref, got = flt.predict(crops), auto.predict(crops)
    assert np.abs(got - ref).mean() < 0.02 and not np.array_equal(got, ref)
    # A model derived from it (here: quantized again into another folder) starts from the float graph.
    other = tmp_path / "other"
    assert main(["export", str(model), "--int8", "--data", str(data), "--out", str(other), "--int8-crops", "40"]) == 0
    assert load_card(other).int8_file == "" and Classifier(other).precision == "float"


def test_a_damaged_or_missing_int8_graph_and_a_missing_one_asked_for_are_clear_errors(tmp_path, data, capsys):
    model = conv_model(tmp_path / "m")
    with pytest.raises(CardError, match="no int8 graph"):
        Classifier(model, precision="int8")
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((64, 64, 3), 128, np.uint8))
    assert main(["analyze", str(photo), "--model", str(model), "--precision", "int8"]) == 2
    assert "no int8 graph" in capsys.readouterr().err
    assert main(["export", str(model), "--int8", "--data", str(data), "--out", str(model), "--int8-crops", "40"]) == 0
    (model / "model.int8.onnx").write_bytes(b"not a graph")
    with pytest.raises(CardError, match="int8 sha256"):
        load_card(model)
    (model / "model.int8.onnx").unlink()
    with pytest.raises(CardError, match="missing"):
        load_card(model)
    with pytest.raises(CardError, match="precision must be one of"):
        ModelCard.load(model / "card.json").graph("half")


def test_the_shipped_default_reads_with_its_int8_graph_and_agrees_with_float():
    """`default` ships an int8 graph beside its float one (issue 20); readings come from it unless asked."""
    card = load_card(resolve_model_dir("default"))
    assert card.int8_file and card.metrics["int8"]["agreement"] >= 0.99 and card.metrics["int8"]["n"] == 3589
    drop = card.metrics["int8"]["accuracy_float"] - card.metrics["int8"]["accuracy_int8"]
    assert drop < 0.003, drop  # the bar for shipping int8: under 0.3 points
    assert Classifier("default").precision == "int8"


@pytest.mark.slow
@pytest.mark.fer2013
@pytest.mark.skipif(not FER_ZIP.is_file(), reason="needs ../shared/datasets/fer2013/fer2013.zip")
def test_the_shipped_int8_graph_agrees_with_the_float_one_on_publictest():
    """The issue's parity, re-read here rather than taken from the export's report: top-1 agreement >= 99% with
    float on all 3,589 PublicTest crops, with the card's TTA. (`emolens export default --int8 --out
    src/emolens/models/default` wrote it, calibrated on 1,000 Training crops; the whole split, because
    disagreements are near-ties a few crops wide: fixed samples of 600 gave 98.3-98.7%.)"""
    from emolens.train.quantize import compare

    split = read_dataset(FER_ZIP, "auto", splits=("test",))["test"]
    folder = resolve_model_dir("default")
    got = compare(folder, folder, split)
    assert got["n"] == 3589 and got["agreement"] >= 0.99, got
    assert got["accuracy_float"] - got["accuracy_int8"] < 0.003, got  # shipped only under a 0.3-point drop


def test_export_int8_without_a_validation_split_writes_the_model_uncompared(tmp_path, capsys):
    model = conv_model(tmp_path / "float")
    train_only = write_class_tree(tmp_path / "t", per_class=3, splits=("train",))
    out = tmp_path / "int8"
    assert main(["export", str(model), "--int8", "--data", str(train_only), "--out", str(out)]) == 0
    assert "agrees" not in capsys.readouterr().out
    int8 = json.loads((out / "card.json").read_text())["metrics"]["int8"]
    assert int8["calibration_crops"] == 21 and "agreement" not in int8

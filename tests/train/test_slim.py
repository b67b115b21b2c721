"""A cheaper starting network cut out of an exported model (emolens.train.slim, scripts/slim_model.py).

Graphs come from our own exporter (VGGs, and two of them as one ensemble graph), so the contract is the
one the shipped `default` has; no dataset needed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from onnx import numpy_helper  # noqa: E402

from emolens.core.card import ModelCard, sha256_file  # noqa: E402
from emolens.core.labels import EMOTIONS  # noqa: E402
from emolens.inference.classifier import Classifier  # noqa: E402
from emolens.train.export import Ensemble, export_onnx  # noqa: E402
from emolens.train.models import create_model  # noqa: E402
from emolens.train.slim import conv_chain, member, slim_model  # noqa: E402

from datagen import write_class_tree  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "slim_model.py"
CARD = {
    "name": "parent",
    "arch": "ensemble of 2 x vgg",
    "labels": EMOTIONS,
    "tta": ("flip", "zoom"),
    "temperature": 0.9,
}


def exported(folder: Path, model: torch.nn.Module) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    card = ModelCard(**CARD)
    export_onnx(model, card, folder / "model.onnx")
    card.with_(onnx_sha256=sha256_file(folder / "model.onnx")).save(folder / "card.json")
    return folder


def vggs(n: int = 2) -> list[torch.nn.Module]:
    nets = []
    for seed in range(n):
        torch.manual_seed(seed)
        net = create_model("vgg", width=8).eval()
        for m in net.modules():  # BN statistics that are not the identity, so folding them is exercised
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        nets.append(net)
    return nets


def onnx_logits(folder: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


@pytest.fixture()
def crops() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (24, 48, 48), dtype=np.uint8)


@pytest.mark.parametrize("k", [0, 1])
def test_member_k_of_an_exported_ensemble_is_that_network(tmp_path, k):
    nets = vggs()
    parent = exported(tmp_path / "parent", Ensemble(nets).eval())
    card = slim_model(parent, tmp_path / "m", None, member_index=k, tta=("flip",))
    x = np.random.default_rng(1).normal(size=(5, 1, 48, 48)).astype(np.float32)
    with torch.no_grad():
        want = nets[k](torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(onnx_logits(tmp_path / "m", x), want, atol=1e-4)
    assert card.tta == ("flip",) and card.labels == EMOTIONS and card.temperature == 1.0 and card.metrics == {}
    assert "member" in card.arch and card.onnx_sha256 == sha256_file(tmp_path / "m" / "model.onnx")
    assert Classifier(tmp_path / "m").predict(np.zeros((2, 48, 48), np.uint8)).shape == (2, len(EMOTIONS))


def test_dead_channels_are_cut_first_and_the_output_does_not_change(tmp_path, crops):
    """Half of every conv's channels never fire (zero filter, negative bias): thinning to half removes exactly
    those, so the thinner graph computes the same logits with half the channels."""
    (net,) = vggs(1)
    with torch.no_grad():
        convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for conv, bn in zip(convs, bns):
            dead = torch.arange(conv.out_channels) % 2 == 1  # interleaved: the kept ones must stay in order
            conv.weight[dead] = 0
            bn.bias[dead] = -1.0  # BN(0) = beta - mean * gamma / std: made negative, so ReLU gives 0
            bn.running_mean[dead] = 0.0
    parent = exported(tmp_path / "parent", net)
    card = slim_model(parent, tmp_path / "thin", crops, fraction=0.5, multiple=4)
    graph = onnx.load(str(tmp_path / "thin" / "model.onnx")).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    widths = [inits[n.input[1]].shape[0] for n in graph.node if n.op_type == "Conv"]
    assert widths == [4, 4, 8, 8, 16, 16, 32, 32]  # width 8: 8-16-32-64, halved
    x = np.random.default_rng(2).normal(size=(6, 1, 48, 48)).astype(np.float32)
    np.testing.assert_allclose(onnx_logits(tmp_path / "thin", x), onnx_logits(parent, x), atol=1e-4)
    assert "0.5 of the channels" in card.arch


def test_a_real_cut_keeps_the_contract_and_the_strongest_channels(tmp_path, crops):
    nets = vggs()
    parent = exported(tmp_path / "parent", Ensemble(nets).eval())
    slim_model(parent, tmp_path / "slim", crops, member_index=0, fraction=0.75, multiple=4)
    model = onnx.load(str(tmp_path / "slim" / "model.onnx"))
    layers = conv_chain(model)
    assert len(layers) == 8 and layers[-1].consumer.op_type in ("Gemm", "MatMul")
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert [inits[la.conv.input[1]].shape[0] for la in layers] == [8, 8, 12, 12, 24, 24, 48, 48]
    probs = Classifier(tmp_path / "slim").predict(crops)
    assert probs.shape == (24, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_graphs_it_cannot_cut_are_refused_with_a_reason(tmp_path):
    (net,) = vggs(1)
    single = onnx.load(str(exported(tmp_path / "one", net) / "model.onnx"))
    with pytest.raises(ValueError, match="not an ensemble"):
        member(single, 0)
    pair = onnx.load(str(exported(tmp_path / "two", Ensemble(vggs()).eval()) / "model.onnx"))
    with pytest.raises(ValueError, match="member 2 does not exist"):
        member(pair, 2)
    torch.manual_seed(0)
    res = onnx.load(str(exported(tmp_path / "res", create_model("resnet18", width=8).eval()) / "model.onnx"))
    with pytest.raises(ValueError, match="plain chain|channel-wise"):
        conv_chain(res)


def test_the_script_writes_a_model_and_errors_are_one_line(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("slim_model", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    sys.modules["slim_model"] = script
    spec.loader.exec_module(script)
    parent = exported(tmp_path / "parent", Ensemble(vggs()).eval())
    assert script.main([str(parent), "--member", "1", "--tta", "none", "--out", str(tmp_path / "m")]) == 0
    assert "member 1" in capsys.readouterr().out
    assert Classifier(tmp_path / "m").card.tta == ()
    assert script.main([str(parent), "--member", "5", "--out", str(tmp_path / "x")]) == 2
    assert "member 5 does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="needs --data"):
        script.main([str(parent), "--fraction", "0.5", "--out", str(tmp_path / "y")])
    with pytest.raises(SystemExit, match="--calibrate needs --data"):
        script.main([str(parent), "--member", "0", "--calibrate", "--out", str(tmp_path / "y")])


def test_a_cut_used_as_it_is_can_be_calibrated_like_an_export(tmp_path, crops):
    data = write_class_tree(tmp_path / "data", per_class=4, splits=("test",))
    parent = exported(tmp_path / "parent", Ensemble(vggs()).eval())
    card = slim_model(parent, tmp_path / "m", None, member_index=0, calibrate=data)
    assert card.temperature != 1.0 and card.metrics["split"] == "test" and card.metrics["n"] == 4 * len(EMOTIONS)
    assert ModelCard.load(tmp_path / "m" / "card.json") == card

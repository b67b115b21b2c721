"""Exported graphs of every registered architecture run the same in torch (teachers, fine-tuning bases)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emolens.core.card import ModelCard  # noqa: E402
from emolens.train.export import export_onnx, store_half  # noqa: E402
from emolens.train.models import create_model, list_models  # noqa: E402
from emolens.train.onnx_torch import onnx_module  # noqa: E402


@pytest.mark.parametrize("name", [m for m in list_models() if m != "onnx"])  # onnx: a file
@pytest.mark.parametrize("half", [False, True])
def test_every_architecture_runs_like_onnx_runtime(name, half, tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    model = create_model(name, num_classes=8).eval()
    path = tmp_path / "model.onnx"
    export_onnx(model, ModelCard(), path)
    if half:
        store_half(path)
    x = np.random.default_rng(0).normal(0, 1, (3, 1, 48, 48)).astype(np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    module = onnx_module(path)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    assert got.shape == (3, 8)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-3)
    assert not any(p.requires_grad for p in module.parameters())


def test_a_trainable_module_learns(tmp_path):
    path = tmp_path / "model.onnx"
    export_onnx(create_model("vgg", width=8).eval(), ModelCard(), path)
    module = onnx_module(path, trainable=True).train()
    opt = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(16, 1, 48, 48), torch.arange(16) % 7
    first = torch.nn.functional.cross_entropy(module(x), y)
    for _ in range(20):
        loss = torch.nn.functional.cross_entropy(module(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first.item()


def test_an_unknown_operator_is_a_clear_error(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Erf", ["input"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 7])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 7])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="Erf is not supported"):
        onnx_module(tmp_path / "m.onnx")


def test_the_onnx_architecture_fine_tunes_a_shipped_model():
    """model: onnx with {path: fast} starts from the shipped graph, trains, and refuses a class mismatch."""
    from emolens.inference.model_store import load_card, resolve_model_dir

    folder = resolve_model_dir("fast")
    model = create_model("onnx", num_classes=7, path="fast")
    assert any(p.requires_grad for p in model.parameters())
    x = np.random.default_rng(1).normal(0, 1, (2, 1, 48, 48)).astype(np.float32)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(folder / load_card(folder).onnx_file), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        got = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, sess.run(None, {sess.get_inputs()[0].name: x})[0], atol=1e-4, rtol=1e-3)
    with pytest.raises(ValueError, match="reads 7 classes"):
        create_model("onnx", num_classes=8, path="fast")
    with pytest.raises(ValueError, match="needs model_args"):
        create_model("onnx")

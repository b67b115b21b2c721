import pytest

torch = pytest.importorskip("torch")

from emolens.train.models import create_model, list_models  # noqa: E402


def test_registry_has_the_required_architectures():
    assert {"vgg", "simple_deep_cnn", "resemotenet", "resnet18"} <= set(list_models())


@pytest.mark.parametrize("name", [m for m in list_models() if m != "onnx"])  # onnx: a file
@pytest.mark.parametrize("size", [48, 64])
def test_forward_backward_non_default_classes(name, size):
    model = create_model(name, num_classes=5)
    x = torch.randn(3, 1, size, size)
    out = model(x)
    assert out.shape == (3, 5)
    out.logsumexp(1).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_vgg_width_parameter_scales_parameters():
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    base, wide = n(create_model("vgg", width=48)), n(create_model("vgg", width=64))
    assert 2.4e6 < base < 2.8e6 and wide > base * 1.5


def test_unknown_model_suggests():
    with pytest.raises(ValueError, match="did you mean 'resnet18'"):
        create_model("resnet81")

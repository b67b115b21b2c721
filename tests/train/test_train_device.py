"""Training-device contracts: device choice, augmentation on the generator's device, calibration fit."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emolens.cli import main  # noqa: E402
from emolens.core.metrics import expected_calibration_error, fit_temperature, softmax  # noqa: E402
from emolens.train.augment import AugmentConfig, BatchAugment  # noqa: E402
from emolens.train.loop import resolve_device  # noqa: E402


def test_auto_device_is_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    "name, message",
    [
        ("cuda", "sees no CUDA GPU"),
        ("cuda:1", "sees no CUDA GPU"),
        ("tpu", "auto, cpu or cuda"),
        ("meta", "auto, cpu or cuda"),
    ],
)
def test_bad_or_missing_device_is_a_clear_error(monkeypatch, name, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=message):
        resolve_device(name)


def test_train_on_a_missing_gpu_exits_2_with_the_fix(train_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(
        ["train", "--data", str(train_data), "--epochs", "1", "--device", "cuda", "--out", str(tmp_path / "run")]
    )
    assert code == 2
    assert "use --device cpu" in capsys.readouterr().err


def _batch(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 48, 48, generator=g), torch.arange(n) % 7


def test_augmentation_is_a_function_of_the_generator_seed():
    x, y = _batch()
    a1, t1 = BatchAugment(AugmentConfig(), 7, torch.Generator().manual_seed(3))(x, y)
    a2, t2 = BatchAugment(AugmentConfig(), 7, torch.Generator().manual_seed(3))(x, y)
    a3, _ = BatchAugment(AugmentConfig(), 7, torch.Generator().manual_seed(4))(x, y)
    assert torch.equal(a1, a2) and torch.equal(t1, t2)
    assert not torch.equal(a1, a3)
    assert a1.shape == x.shape and a1.dtype == x.dtype and a1.device == x.device
    assert torch.equal(t1, torch.nn.functional.one_hot(y, 7).float())  # no mixing: targets stay one-hot


def test_mixup_and_cutmix_targets_stay_distributions():
    x, y = _batch(32)
    aug = BatchAugment(AugmentConfig(mixup=0.4, cutmix=1.0), 7, torch.Generator().manual_seed(0))
    for _ in range(6):  # both branches are drawn
        out, t = aug(x, y)
        assert out.shape == x.shape
        assert torch.allclose(t.sum(1), torch.ones(32)) and (t >= 0).all()


def test_erasing_replaces_boxes_with_noise_and_leaves_the_rest():
    x = torch.zeros(64, 1, 48, 48)
    cfg = AugmentConfig(flip=0, rotate=0, shift=0, scale=0, brightness=0, contrast=0, erase=1.0)
    out, _ = BatchAugment(cfg, 7, torch.Generator().manual_seed(0))(x, torch.zeros(64, dtype=torch.long))
    changed = (out != 0).flatten(1).float().mean(1)  # share of pixels erased per image
    assert (changed > 0.01).all() and (changed < 0.35).all()


def test_no_draw_comes_from_another_device_than_the_generator(monkeypatch):
    """On a GPU every draw must be made there: a CPU draw would cost a host copy per step."""
    calls = []
    real_rand, real_randn = torch.rand, torch.randn

    def spy(real):
        def f(*args, **kwargs):
            calls.append(kwargs.get("device"))
            return real(*args, **kwargs)

        return f

    x, y = _batch()
    monkeypatch.setattr(torch, "rand", spy(real_rand))
    monkeypatch.setattr(torch, "randn", spy(real_randn))
    BatchAugment(AugmentConfig(), 7, torch.Generator().manual_seed(0))(x, y)
    assert calls and all(d == torch.device("cpu") for d in calls)


def _overconfident_logits(t_true=1.8, n=6000, k=7, seed=0):
    """Labels drawn from softmax(z / t_true): the calibrated temperature is t_true."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, (n, k))
    p = softmax(z, t_true)
    y = np.array([rng.choice(k, p=row) for row in p])
    return z, y


@pytest.mark.parametrize("objective", ["brier", "nll"])
def test_temperature_fit_recovers_the_true_temperature(objective):
    z, y = _overconfident_logits()
    t = fit_temperature(z, y, objective)
    assert abs(t - 1.8) < 0.15
    before, _ = expected_calibration_error(softmax(z), y)
    after, _ = expected_calibration_error(softmax(z, t), y)
    assert after < before / 2


def test_unknown_calibration_objective_is_an_error():
    with pytest.raises(ValueError, match="brier or nll"):
        fit_temperature(np.zeros((2, 7)), np.array([0, 1]), "ece")


def test_resume_with_another_devices_random_stream_reseeds_instead_of_failing(caplog):
    from emolens.train.loop import _restore_generator

    g = torch.Generator()
    _restore_generator(g, torch.zeros(16, dtype=torch.uint8), 7)  # a CUDA generator's state is 16 bytes
    assert "another device" in caplog.text
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(7)))
    state = torch.Generator().manual_seed(5).get_state()
    _restore_generator(g, state, 7)  # the same device: the stream continues exactly
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(5)))

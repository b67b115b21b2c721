"""Test-time augmentation: one definition of the views, used by the runtime and by run evaluation."""

import numpy as np
import pytest

from emolens.core.card import CardError, ModelCard
from emolens.core.tta import parse_tta, shift, tta_views, zoom
from emolens.inference.classifier import Classifier

from helpers import make_tiny_model


def test_parse_tta_accepts_lists_and_rejects_unknown_names():
    assert parse_tta("none") == () and parse_tta(None) == () and parse_tta("") == ()
    assert parse_tta("zoom, flip") == ("flip", "zoom")  # canonical order
    assert parse_tta(["flip"]) == ("flip",)
    with pytest.raises(ValueError, match="tencrop"):
        parse_tta("flip,tencrop")
    with pytest.raises(CardError, match="tta"):
        ModelCard(tta=("rotate",))


def test_views_are_the_batch_its_zoom_and_their_mirrors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 1, 48, 48)).astype(np.float32)
    assert len(tta_views(x, ())) == 1 and np.array_equal(tta_views(x, ())[0], x)
    views = tta_views(x, ("flip", "zoom"))
    assert len(views) == 4
    assert np.array_equal(views[1], zoom(x)) and np.array_equal(views[2], x[..., ::-1])
    assert np.array_equal(views[3], zoom(x)[..., ::-1])


def test_shift_views_move_the_crop_by_a_sixteenth_and_reflect_the_border():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 1, 48, 48)).astype(np.float32)
    views = tta_views(x, ("flip", "shift"))
    assert len(views) == 10  # batch, 4 shifts, and the mirror of each
    left, right, up, down = views[1:5]
    assert np.array_equal(right[..., 3:], x[..., :-3]) and np.array_equal(left[..., :-3], x[..., 3:])
    assert np.array_equal(down[..., 3:, :], x[..., :-3, :]) and np.array_equal(up[..., :-3, :], x[..., 3:, :])
    assert np.array_equal(right[..., :3], x[..., 3:0:-1])  # reflected, not black
    assert np.array_equal(views[7], right[..., ::-1]) and np.array_equal(views[5], x[..., ::-1])
    assert parse_tta("shift,flip,zoom") == ("flip", "zoom", "shift")
    assert np.array_equal(shift(x, 0, 0), x)


def test_zoom_enlarges_the_centre():
    x = np.zeros((1, 1, 48, 48), np.float32)
    x[..., 20:28, 20:28] = 1.0  # an 8 px square in the middle
    z = zoom(x, 1.1)
    assert z.shape == x.shape
    assert 0.95 * 1.1**2 < z.sum() / x.sum() < 1.05 * 1.1**2  # area grows by the factor squared
    assert z[0, 0, 0, 0] == 0 and z[0, 0, 24, 24] == pytest.approx(1.0)
    flat = np.full((2, 1, 48, 48), 0.3, np.float32)
    np.testing.assert_allclose(zoom(flat), flat, atol=1e-6)


def test_classifier_averages_the_logits_of_every_view(tmp_path):
    model = make_tiny_model(tmp_path / "m", tta=("flip", "zoom"))
    rng = np.random.default_rng(1)
    batch = rng.normal(size=(5, 1, 48, 48)).astype(np.float32)
    with_tta = Classifier(model)
    plain = Classifier(model, tta="none")
    assert with_tta.tta == ("flip", "zoom") and plain.tta == ()
    expected = np.mean([plain.logits(v) for v in tta_views(batch, ("flip", "zoom"))], axis=0)
    np.testing.assert_allclose(with_tta.logits(batch), expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(with_tta.logits(batch), plain.logits(batch))
    assert with_tta.logits(batch[:0]).shape == (0, 7)

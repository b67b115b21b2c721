import numpy as np
import pytest

from emolens.core.card import CardError, ModelCard, sha256_file
from emolens.core.labels import EMOTIONS, LABEL_MAPS, canonical, index_of
from emolens.core.preprocess import preprocess


def test_labels_are_fer2013_csv_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.mark.parametrize(
    "name,expected",
    [
        ("anger", "angry"),
        ("Sadness", "sad"),
        ("happiness", "happy"),
        ("surprised", "surprise"),
        ("contempt", None),
        ("fearful", "fear"),
    ],
)
def test_aliases(name, expected):
    assert canonical(name) == expected


def test_rafdb_numbers_map_by_name():
    table = LABEL_MAPS["rafdb"]
    assert (
        canonical("1", table) == "surprise" and canonical("6", table) == "angry" and canonical("7", table) == "neutral"
    )


def test_unknown_class_name_raises_with_fix():
    with pytest.raises(KeyError, match="label map"):
        canonical("grumpy")
    with pytest.raises(KeyError):
        index_of("grumpy")


def test_card_roundtrip_and_validation(tmp_path):
    card = ModelCard(name="x", temperature=1.5, tta=("flip",), metrics={"accuracy": 0.7})
    path = card.save(tmp_path / "card.json")
    again = ModelCard.load(path)
    assert again == card and again.labels == EMOTIONS
    with pytest.raises(CardError, match="channels"):
        ModelCard(channels=2)
    with pytest.raises(CardError, match="unknown fields"):
        ModelCard.from_dict({**card.to_dict(), "colour": "x"})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CardError, match="not valid JSON"):
        ModelCard.load(tmp_path / "bad.json")
    with pytest.raises(CardError, match="no model card"):
        ModelCard.load(tmp_path / "missing.json")


def test_sha256_file(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_preprocess_gray_batch_normalises_with_card():
    card = ModelCard(mean=(0.5,), std=(0.25,))
    crops = np.full((2, 48, 48), 255, np.uint8)
    out = preprocess(crops, card)
    assert out.shape == (2, 1, 48, 48) and out.dtype == np.float32
    np.testing.assert_allclose(out, (1.0 - 0.5) / 0.25)


def test_preprocess_mixed_inputs_resize_and_convert():
    card = ModelCard(input_size=40)
    bgr = np.zeros((100, 80, 3), np.uint8)
    bgra = np.zeros((60, 60, 4), np.uint8)
    gray = np.zeros((30, 30), np.uint8)
    out = preprocess([bgr, bgra, gray], card)
    assert out.shape == (3, 1, 40, 40)
    rgb_card = ModelCard(channels=3, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    blue = np.zeros((48, 48, 3), np.uint8)
    blue[..., 0] = 255  # BGR blue
    x = preprocess([blue], rgb_card)
    assert x.shape == (1, 3, 48, 48) and x[0, 2].mean() > x[0, 0].mean()  # lands in the RGB "B" channel


def test_preprocess_batch_and_list_paths_agree():
    card = ModelCard()
    crops = np.random.default_rng(0).integers(0, 256, (3, 64, 64), dtype=np.uint8)
    np.testing.assert_allclose(preprocess(crops, card), preprocess(list(crops), card), atol=1e-6)


def test_preprocess_rejects_bad_crops():
    with pytest.raises(ValueError, match="uint8"):
        preprocess([np.zeros((10, 10), np.float32)], ModelCard())
    with pytest.raises(ValueError, match="empty"):
        preprocess([np.zeros((0, 10), np.uint8)], ModelCard())

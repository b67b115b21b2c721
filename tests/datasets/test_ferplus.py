"""FER+ votes -> training targets (majority, soft, sampled, mixed), unknown / not-a-face, ties, contempt."""

import csv

import numpy as np
import pytest

from emolens.core.labels import EMOTIONS, label_set
from emolens.datasets import DataError, read_dataset
from emolens.datasets.ferplus import VOTE_COLUMNS, FerPlusOptions, apply_ferplus, process_votes, read_votes

# vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
N, HAP, SUR, SAD, ANG, DIS, FEA, CON, UNK, NF = range(10)
I = {name: EMOTIONS.index(name) for name in EMOTIONS}  # noqa: E741 - the index of a label, as in the paper


def votes(**kw) -> np.ndarray:
    v = np.zeros(10)
    for k, n in kw.items():
        v[globals()[k]] = n
    return v


def test_majority_needs_more_than_half_after_single_votes_are_dropped():
    t = process_votes(votes(HAP=6, N=3, SAD=1), "majority")  # the single sad vote is an outlier
    assert t is not None and t.argmax() == I["happy"] and t.max() == 1.0
    assert process_votes(votes(HAP=4, N=4, SAD=2), "majority") is None  # tie: no majority
    assert process_votes(votes(HAP=5, N=5), "majority") is None  # exactly half is not a majority


def test_majority_strictly_over_half():
    assert process_votes(votes(ANG=5, SAD=3, FEA=2), "majority") is None
    assert process_votes(votes(ANG=6, SAD=2, FEA=2), "majority").argmax() == I["angry"]


def test_soft_targets_keep_the_top_emotions_and_drop_outliers():
    t = process_votes(votes(HAP=5, SUR=3, N=1, SAD=1), "crossentropy")
    assert t.shape == (7,)
    np.testing.assert_allclose(t.sum(), 1.0, atol=1e-6)
    assert t[I["happy"]] == pytest.approx(5 / 8) and t[I["surprise"]] == pytest.approx(3 / 8)
    assert t[I["neutral"]] == 0 and t[I["sad"]] == 0  # single votes are outliers


def test_ties_among_emotions_are_kept_together_in_soft_mode():
    t = process_votes(votes(SAD=4, N=4, FEA=2), "crossentropy")
    # the tied pair already holds 80% (>= 75%) of the votes, so fear's 2 votes are left out, as in FER+'s code
    assert t[I["sad"]] == t[I["neutral"]] == pytest.approx(0.5) and t[I["fear"]] == 0
    t = process_votes(votes(SAD=4, N=3, FEA=3), "crossentropy")  # 40% < 75%: the tied runners-up join together
    assert t[I["sad"]] == pytest.approx(0.4) and t[I["neutral"]] == t[I["fear"]] == pytest.approx(0.3)
    assert process_votes(votes(SAD=3, N=3, FEA=2, HAP=2), "crossentropy") is None  # 4 emotions: too spread


@pytest.mark.parametrize("mode", ["majority", "crossentropy"])
def test_unknown_or_not_a_face_drops_the_image(mode):
    assert process_votes(votes(UNK=6, HAP=4), mode) is None
    assert process_votes(votes(NF=10), mode) is None
    assert process_votes(votes(HAP=4, NF=4, N=2), mode) is None  # NF ties with the top emotion


def test_contempt_is_dropped_with_7_classes_and_kept_as_the_8th():
    v = votes(CON=6, N=4)
    assert process_votes(v, "crossentropy", classes=7) is None
    t8 = process_votes(v, "crossentropy", classes=8)
    assert t8.shape == (8,) and label_set(8)[int(t8.argmax())] == "contempt"
    t7 = process_votes(votes(N=6, CON=4), "crossentropy", classes=7)  # a minority of contempt is renormalised away
    assert t7.argmax() == I["neutral"] and t7.sum() == pytest.approx(1.0) and t7.shape == (7,)


@pytest.fixture
def kaggle_with_votes(tmp_path):
    from datagen import write_class_tree

    root = write_class_tree(tmp_path / "fer", per_class=2)
    rows = []
    for p in sorted(root.rglob("*.png")):
        rel = p.relative_to(root).as_posix()
        cls = rel.split("/")[1]
        v = np.zeros(10, int)
        if cls == "angry":
            v[N] = 7
            v[ANG] = 3  # FER+ says neutral
        elif cls == "disgust":
            v[NF] = 10  # not a face
        elif cls == "fear":
            v[UNK] = 8
            v[FEA] = 2
        else:
            v[
                [N, HAP, SUR, SAD, ANG, DIS, FEA][
                    ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear"].index(cls)
                ]
            ] = 10
        rows.append([rel, *v, 0])
    rows.append([rows[0][0], *np.eye(10, dtype=int)[HAP] * 10, 1])  # a second row for the same file: averaged
    with open(tmp_path / "fer" / "ferplus.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", *VOTE_COLUMNS, "ferplus_row"])
        w.writerows(rows)
    return root


def test_votes_attach_by_path_and_unusable_images_are_dropped(kaggle_with_votes):
    split = read_dataset(kaggle_with_votes)["train"]
    vts = read_votes(kaggle_with_votes / "ferplus.csv")
    out = apply_ferplus(split, vts, FerPlusOptions(mode="majority"))
    kept_classes = {s.split("/")[1] for s in out.sources}
    assert "disgust" not in kept_classes and "fear" not in kept_classes  # NF, unknown
    angry = [i for i, s in enumerate(out.sources) if "/angry/" in s]
    assert angry and all(out.labels[i] == I["neutral"] for i in angry)  # relabelled by the ten taggers
    assert all(out.original_labels[i] == I["angry"] for i in angry)  # FER2013's own label kept for reports
    assert out.targets.shape == (len(out), 7)
    assert any("not a face" in k for k in out.dropped) and any("unknown" in k for k in out.dropped)


def test_mixed_mode_weights_the_original_label(kaggle_with_votes):
    split = read_dataset(kaggle_with_votes)["train"]
    vts = read_votes(kaggle_with_votes / "ferplus.csv")
    out = apply_ferplus(split, vts, FerPlusOptions(mode="mixed", weight=0.25))
    i = next(i for i, s in enumerate(out.sources) if "/angry/" in s and s != split.sources[0])
    assert out.targets[i][I["angry"]] == pytest.approx(0.25 + 0.75 * 0.3)
    assert out.targets[i][I["neutral"]] == pytest.approx(0.75 * 0.7)
    np.testing.assert_allclose(out.targets.sum(1), 1.0, atol=1e-6)


def test_duplicate_rows_for_one_file_are_averaged(kaggle_with_votes):
    vts = read_votes(kaggle_with_votes / "ferplus.csv")
    first = sorted(vts)[0]
    assert vts[first].sum() == pytest.approx(10.0)  # two rows of 10 votes -> their mean


def test_a_votes_file_that_matches_no_path_is_a_clear_error(kaggle_with_votes, tmp_path):
    split = read_dataset(kaggle_with_votes)["train"]
    with pytest.raises(DataError, match="keyed by this layout"):
        apply_ferplus(split, {"elsewhere/x.png": votes(HAP=10)}, FerPlusOptions(mode="majority"))


def test_bad_options_and_missing_votes_are_clear_errors(tmp_path):
    from emolens.datasets.ferplus import votes_path

    with pytest.raises(DataError, match="mode"):
        FerPlusOptions(mode="vote")
    with pytest.raises(DataError, match="classes"):
        FerPlusOptions(classes=9)
    with pytest.raises(DataError, match="--ferplus"):
        votes_path(tmp_path / "fer2013.zip")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,happy\nx,1\n")
    with pytest.raises(DataError, match="missing columns"):
        read_votes(bad)


def test_emolens_data_reports_ferplus_agreement_per_class(kaggle_with_votes, tmp_path, capsys):
    from emolens.cli import main

    assert main(["data", str(kaggle_with_votes), "--out", str(tmp_path / "rep"), "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    train = report["ferplus"]["splits"]["train"]
    assert (
        train["happy"]["agree"] == 1.0 and train["angry"]["agree"] == 0.0 and train["angry"]["top_other"] == "neutral"
    )
    assert train["disgust"]["top_other"] == "not a face"
    assert main(["data", str(kaggle_with_votes), "--out", str(tmp_path / "rep")]) == 0
    assert "FER+ majority agreeing with the label" in capsys.readouterr().out

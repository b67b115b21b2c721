"""Training through the CLI on ~100 generated images: smoke run, resume, evaluate, export."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emolens.cli import main  # noqa: E402


def small_config(tmp_path, epochs=1):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"epochs: {epochs}\nmodel_args: {{width: 8}}\nlr: 0.05\nbatch_size: 32\n")
    return cfg


@pytest.fixture(scope="module")
def train_data(tmp_path_factory):
    """Module-wide copy of the ~100-image dataset, so one trained run serves several tests."""
    from datagen import write_class_tree

    root = write_class_tree(tmp_path_factory.mktemp("data") / "small", per_class=15, splits=("train",))
    return write_class_tree(root, per_class=5, splits=("test",))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, train_data):
    tmp = tmp_path_factory.mktemp("run")
    run = tmp / "run"
    assert main(["train", "--config", str(small_config(tmp)), "--data", str(train_data), "--out", str(run)]) == 0
    return run


def test_smoke_training_writes_a_run_folder(trained_run, capsys):
    for name in ("config.yaml", "train.log", "history.json", "last.pt", "best.pt"):
        assert (trained_run / name).is_file(), name
    hist = json.loads((trained_run / "history.json").read_text())
    assert len(hist) == 1 and {"train_loss", "val_accuracy", "val_macro_f1", "images_per_s"} <= set(hist[0])
    assert "epoch 1/1 loss" in (trained_run / "train.log").read_text()


def test_train_refuses_to_overwrite_a_run(trained_run, train_data, capsys):
    assert main(["train", "--data", str(train_data), "--out", str(trained_run)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_train_out_that_is_a_file_or_a_dangling_link_is_a_clear_error(train_data, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    for out in ("file", "link"):
        assert main(["train", "--data", str(train_data), "--out", str(tmp_path / out), "--epochs", "1"]) == 2
        err = capsys.readouterr().err
        assert "exists and is not a folder" in err and "Traceback" not in err, err
    assert not (tmp_path / "nowhere").exists()


def test_train_without_data_is_a_clear_error(capsys):
    assert main(["train", "--epochs", "1"]) == 2
    assert "--data" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_after_interruption_matches_uninterrupted(tmp_path, train_data, monkeypatch):
    import emolens.train.loop as loop

    cfg = small_config(tmp_path, epochs=3)
    full = tmp_path / "full"
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--out", str(full)]) == 0

    real = loop.train_one_epoch

    def crash_in_epoch_3(*args, **kwargs):
        if args[-1] == 2:  # epoch index
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    part = tmp_path / "part"
    monkeypatch.setattr(loop, "train_one_epoch", crash_in_epoch_3)
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--out", str(part)]) == 130
    assert len(json.loads((part / "history.json").read_text())) == 2
    monkeypatch.setattr(loop, "train_one_epoch", real)
    assert main(["train", "--resume", str(part)]) == 0
    h_full = json.loads((full / "history.json").read_text())
    h_part = json.loads((part / "history.json").read_text())
    assert [r["epoch"] for r in h_part] == [1, 2, 3]
    assert [r["train_loss"] for r in h_part] == pytest.approx([r["train_loss"] for r in h_full], rel=1e-4)
    a = torch.load(full / "last.pt", weights_only=False)["model"]
    b = torch.load(part / "last.pt", weights_only=False)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k


def test_evaluate_run_json_and_report_files(trained_run, train_data, capsys, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(trained_run), "--data", str(train_data), "--json", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 35 and 0 <= report["accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1
    assert set(report["per_class"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    for name in ("metrics.json", "confusion.csv", "per_class.csv", "confusion.png", "reliability.png", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    cm = np.loadtxt(out / "confusion.csv", delimiter=",", skiprows=1, usecols=range(1, 8))
    assert cm.sum() == 35


def test_export_parity_and_onnx_evaluation(trained_run, train_data, capsys, tmp_path):
    from emolens.core.card import ModelCard, sha256_file
    from emolens.core.preprocess import preprocess
    from emolens.datasets import read_dataset
    from emolens.train.export import check_parity
    from emolens.train.runs import load_run

    out = tmp_path / "exported"
    assert main(["export", str(trained_run), "--out", str(out)]) == 0
    card = ModelCard.load(out / "card.json")
    assert card.onnx_sha256 == sha256_file(out / "model.onnx")
    assert card.train_config["model"] == "vgg" and card.temperature > 0 and "accuracy" in card.metrics
    # Parity on a real preprocessed batch: torch and ONNX Runtime agree within 1e-4.
    model, _, _ = load_run(trained_run)
    batch = preprocess(read_dataset(train_data)["test"].images, card)
    assert check_parity(model, out / "model.onnx", batch) < 1e-4
    capsys.readouterr()
    assert (
        main(["evaluate", "--model", str(out), "--data", str(train_data), "--json", "--out", str(tmp_path / "e")]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 35 and report["model"]["kind"] == "onnx" and report["model"]["sha256"] == card.onnx_sha256


def test_evaluate_missing_split_and_model_errors(trained_run, train_data, capsys):
    assert main(["evaluate", "--model", str(trained_run), "--data", str(train_data), "--split", "private"]) == 2
    assert "no 'private' split" in capsys.readouterr().err
    assert main(["evaluate", "--model", "nonexistent-model", "--data", str(train_data)]) == 2
    assert "no model at" in capsys.readouterr().err


def test_help_has_examples(capsys):
    for verb in ("data", "train", "evaluate", "export"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_export_ensemble_of_two_runs(trained_run, tmp_path, capsys):
    import onnxruntime as ort

    from emolens.core.card import ModelCard
    from emolens.train.export import Ensemble
    from emolens.train.runs import load_run

    out = tmp_path / "ens"
    assert main(["export", str(trained_run), str(trained_run), "--out", str(out), "--no-calibrate"]) == 0
    card = ModelCard.load(out / "card.json")
    assert card.arch == "ensemble of 2 x vgg" and len(card.train_config["members"]) == 2
    model, _, _ = load_run(trained_run)
    x = np.random.default_rng(0).standard_normal((4, 1, 48, 48)).astype(np.float32)
    with torch.no_grad():
        single = model(torch.from_numpy(x)).numpy()
        both = Ensemble([model, model])(torch.from_numpy(x)).numpy()
    onnx_out = ort.InferenceSession(str(out / "model.onnx")).run(None, {"input": x})[0]
    np.testing.assert_allclose(both, single, atol=1e-5)  # mean of identical members = the member
    np.testing.assert_allclose(onnx_out, single, atol=1e-4)


def test_uncertain_threshold_is_where_predictions_become_right_half_the_time():
    from emolens.train.export import uncertain_threshold

    rng = np.random.default_rng(0)
    conf = rng.uniform(0.35, 1.0, 4000)  # above 1/3, so the top class is the one given conf
    y = np.zeros(4000, int)
    right = rng.uniform(size=4000) < conf  # perfectly calibrated: accuracy at confidence c is c
    probs = np.zeros((4000, 7))
    probs[np.arange(4000), np.where(right, 0, 1)] = conf
    probs[np.arange(4000), np.where(right, 1, 0)] = (1 - conf) / 2
    assert abs(uncertain_threshold(probs, y) - 0.5) <= 0.05


@pytest.mark.slow
def test_export_tta_and_run_vs_onnx_agree_with_zoom_and_shift(trained_run, train_data, capsys, tmp_path):
    """`--tta flip,zoom,shift` means the same views for a run folder (torch) and an exported model (ONNX)."""
    from emolens.core.card import ModelCard

    out = tmp_path / "fz"
    assert main(["export", str(trained_run), "--out", str(out), "--tta", "flip,zoom,shift", "--no-calibrate"]) == 0
    assert ModelCard.load(out / "card.json").tta == ("flip", "zoom", "shift")
    capsys.readouterr()
    reports = []
    for model in (trained_run, out):
        assert (
            main(
                [
                    "evaluate",
                    "--model",
                    str(model),
                    "--data",
                    str(train_data),
                    "--tta",
                    "flip,zoom,shift",
                    "--json",
                    "--out",
                    str(tmp_path / f"e{len(reports)}"),
                ]
            )
            == 0
        )
        reports.append(json.loads(capsys.readouterr().out))
    assert [r["model"]["tta"] for r in reports] == ["flip,zoom,shift", "flip,zoom,shift"]
    # Same views on both paths: logits agree up to bf16 rounding, and differ from flip-only logits.
    from emolens.core.preprocess import preprocess
    from emolens.datasets import read_dataset
    from emolens.inference.classifier import Classifier
    from emolens.train.runs import run_logits

    split = read_dataset(train_data)["test"]
    onnx = Classifier(out).logits(preprocess(split.images, ModelCard.load(out / "card.json")))
    run, info = run_logits(trained_run, split, "flip,zoom,shift")
    assert info["tta"] == "flip,zoom,shift" and np.abs(run - onnx).max() < 0.01


def test_run_logits_average_the_same_views_as_the_runtime(train_data):
    """predict_logits (torch, float32) = mean of the model over core.tta views, not just flip."""
    from emolens.core.tta import tta_views
    from emolens.datasets import read_dataset
    from emolens.train.config import TrainConfig
    from emolens.train.loop import predict_logits
    from emolens.train.models import create_model

    torch.manual_seed(0)
    model = create_model("vgg", num_classes=7, in_chans=1, width=8).eval()
    split = read_dataset(train_data)["test"]
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(len(split), 1, 48, 48)).astype(np.float32))
    cfg = TrainConfig(bf16=False, channels_last=False, batch_size=16)
    got = predict_logits(model, x, split, cfg, "flip,zoom")
    with torch.no_grad():
        want = np.mean([model(torch.from_numpy(v)).numpy() for v in tta_views(x.numpy(), ("flip", "zoom"))], axis=0)
        flip = np.mean([model(torch.from_numpy(v)).numpy() for v in tta_views(x.numpy(), ("flip",))], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.abs(got - flip).max() > 100 * np.abs(got - want).max()


def test_bad_tta_is_a_usage_error(trained_run, train_data, capsys):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--model", str(trained_run), "--data", str(train_data), "--tta", "tencrop"])
    assert e.value.code == 2 and "unknown test-time augmentation tencrop" in capsys.readouterr().err


@pytest.mark.slow
def test_multi_seed_recipe_trains_members_continues_and_exports_one_model(tmp_path, train_data, capsys):
    """`ensemble_seeds` in a config: one command trains every member; export of the folder averages them."""
    from emolens.core.card import ModelCard

    cfg = small_config(tmp_path)
    cfg.write_text(cfg.read_text() + "ensemble_seeds: [3, 4]\nexport_tta: flip,zoom\n")
    out = tmp_path / "ens"
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--out", str(out)]) == 0
    assert "2 members" in capsys.readouterr().out
    assert [p.name for p in sorted(out.glob("seed*"))] == ["seed3", "seed4"]
    first = {p: p.stat().st_mtime_ns for p in out.glob("seed*/best.pt")}
    a, b = (torch.load(out / f"seed{s}" / "best.pt", weights_only=False) for s in (3, 4))
    assert a["config"]["seed"] == 3 and b["config"]["seed"] == 4 and a["config"]["ensemble_seeds"] == []
    assert not torch.equal(next(iter(a["model"].values())), next(iter(b["model"].values())))  # different seeds
    # The same command again keeps finished members instead of retraining or refusing.
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--out", str(out)]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("seed*/best.pt")} == first
    capsys.readouterr()
    # --seed picks one member of the recipe: a plain run folder.
    single = tmp_path / "single"
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--seed", "3", "--out", str(single)]) == 0
    assert (single / "best.pt").is_file() and not list(single.glob("seed*"))
    # Exporting the folder = the ensemble of its members, with the recipe's TTA in the card.
    exported = tmp_path / "exported"
    assert main(["export", str(out), "--out", str(exported), "--no-calibrate"]) == 0
    card = ModelCard.load(exported / "card.json")
    assert card.arch == "ensemble of 2 x vgg" and card.tta == ("flip", "zoom") and card.name == "ens"
    assert [m["seed"] for m in card.train_config["members"]] == [3, 4]
    capsys.readouterr()
    reports = []
    for model in (out, exported):
        assert (
            main(
                [
                    "evaluate",
                    "--model",
                    str(model),
                    "--data",
                    str(train_data),
                    "--json",
                    "--out",
                    str(tmp_path / f"e{len(reports)}"),
                ]
            )
            == 0
        )
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0]["model"]["arch"] == "ensemble of 2 x vgg" and reports[0]["model"]["tta"] == "flip,zoom"
    assert abs(reports[0]["accuracy"] - reports[1]["accuracy"]) <= 2 / 35  # bf16 run vs fp32 graph


def test_half_export_halves_the_file_and_keeps_the_outputs(trained_run, train_data, tmp_path):
    import onnx

    from emolens.core.card import ModelCard
    from emolens.core.preprocess import preprocess
    from emolens.datasets import read_dataset
    from emolens.inference.classifier import Classifier

    full, half = tmp_path / "full", tmp_path / "half"
    assert main(["export", str(trained_run), "--out", str(full), "--no-calibrate"]) == 0
    assert main(["export", str(trained_run), "--out", str(half), "--no-calibrate", "--half"]) == 0
    size = {p: (p / "model.onnx").stat().st_size for p in (full, half)}
    assert size[half] < 0.6 * size[full]
    graph = onnx.load(str(half / "model.onnx")).graph
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in graph.initializer)
    assert ModelCard.load(half / "card.json").metrics["weights"] == "float16"
    batch = preprocess(read_dataset(train_data)["test"].images, ModelCard.load(full / "card.json"))
    a, b = Classifier(full).predict_batch(batch), Classifier(half).predict_batch(batch)
    assert np.abs(a - b).max() < 5e-3 and (a.argmax(1) == b.argmax(1)).mean() >= 0.97


@pytest.mark.slow
def test_distillation_mixes_teacher_soft_labels_into_the_targets(trained_run, train_data, tmp_path, capsys):
    """A student trains from a run folder and from an exported model; targets are the mix the config asks for."""
    from emolens.core.metrics import softmax
    from emolens.train.config import TrainConfig
    from emolens.train.data import split_train_val
    from emolens.train.targets import teacher_mix, with_label_source

    exported = tmp_path / "exported"
    assert main(["export", str(trained_run), "--out", str(exported)]) == 0
    student = tmp_path / "student"
    assert (
        main(
            [
                "train",
                "--config",
                str(small_config(tmp_path)),
                "--data",
                str(train_data),
                "--out",
                str(student),
                "--teacher",
                str(trained_run),
                "--teacher",
                str(exported),
            ]
        )
        == 0
    )
    cfg = TrainConfig.load(student / "config.yaml")
    assert cfg.teachers == [str(trained_run), str(exported)]
    log = (student / "train.log").read_text()
    assert "teacher 2/2" in log and "accuracy" in log
    logits = np.load(student / "teacher_logits-train.npy")
    train = with_label_source(split_train_val(cfg)[0], cfg)
    assert logits.shape == (len(train), 7)

    cfg.distill_weight, cfg.distill_temperature = 0.25, 2.0
    targets = teacher_mix(cfg, train, student)  # from the cache
    onehot = np.eye(7)[train.labels]
    np.testing.assert_allclose(targets, 0.75 * onehot + 0.25 * softmax(logits, 2.0), atol=1e-6)
    np.testing.assert_allclose(targets.sum(1), 1.0, atol=1e-5)


def test_distillation_from_a_missing_teacher_is_a_clear_error(train_data, tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--config",
                str(small_config(tmp_path)),
                "--data",
                str(train_data),
                "--out",
                str(tmp_path / "s"),
                "--teacher",
                str(tmp_path / "nope"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err


def test_bad_distill_weight_is_a_config_error(tmp_path, train_data, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("distill_weight: 1.5\n")
    assert main(["train", "--config", str(cfg), "--data", str(train_data)]) == 2
    assert "distill_weight" in capsys.readouterr().err


def test_resize_matrix_is_opencvs_resize():
    import cv2

    from emolens.train.export import resize_matrix

    x = np.random.default_rng(1).random((48, 48)).astype(np.float32)
    for dst, interp, flag in ((40, "area", cv2.INTER_AREA), (36, "linear", cv2.INTER_LINEAR)):
        r = resize_matrix(48, dst, interp)
        np.testing.assert_allclose(r @ x @ r.T, cv2.resize(x, (dst, dst), interpolation=flag), atol=1e-5)


def test_export_ensemble_of_members_with_different_input_sizes(trained_run, train_data, tmp_path):
    """A 40 px member joins a 48 px one: the graph takes 48 px and resizes inside for the 40 px member."""
    import onnxruntime as ort

    from emolens.core.card import ModelCard
    from emolens.core.preprocess import preprocess
    from emolens.train.data import card_for
    from emolens.train.runs import load_run

    cfg = tmp_path / "cfg40.yaml"
    cfg.write_text(small_config(tmp_path).read_text() + "input_size: 40\n")
    run40 = tmp_path / "run40"
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--out", str(run40)]) == 0
    out = tmp_path / "mixed"
    assert main(["export", str(run40), str(trained_run), "--out", str(out), "--no-calibrate"]) == 0
    card = ModelCard.load(out / "card.json")
    assert card.input_size == 48 and [m["input_size"] for m in card.train_config["members"]] == [40, 48]

    crops = np.random.default_rng(2).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    expected = []
    for run in (run40, trained_run):  # each member on the pixels its own preprocessing gives it
        model, member_cfg, _ = load_run(run)
        with torch.no_grad():
            expected.append(model(torch.from_numpy(preprocess(crops, card_for(member_cfg)))).numpy())
    got = ort.InferenceSession(str(out / "model.onnx")).run(None, {"input": preprocess(crops, card)})[0]
    assert got.shape == (6, 7)
    # Only the uint8 rounding of OpenCV's resize (<= 0.5 grey level) separates the two paths;
    # a 1-epoch model moves its logits by ~5e-3 when fed a centre crop instead.
    np.testing.assert_allclose(got, np.mean(expected, axis=0), atol=1e-4)


def test_resized_member_sees_the_pixels_its_own_preprocessing_gives():
    from emolens.core.card import ModelCard
    from emolens.core.preprocess import preprocess
    from emolens.train.export import Resized, resize_matrix

    card48, card40 = ModelCard(input_size=48), ModelCard(input_size=40)
    crops = np.random.default_rng(3).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    with torch.no_grad():
        seen = Resized(torch.nn.Identity(), resize_matrix(48, 40))(torch.from_numpy(preprocess(crops, card48))).numpy()
    # Within OpenCV's uint8 rounding (0.5 grey level = 0.5 / 255 / std after normalisation).
    np.testing.assert_allclose(seen, preprocess(crops, card40), atol=0.5 / 255 / card40.std[0] + 1e-5)


def test_export_writes_card_json_once_and_complete(trained_run, tmp_path, monkeypatch):
    """Calibration works on the card in memory: card.json is written once, calibrated, after the ONNX file."""
    from emolens.core.card import ModelCard

    saved = []
    original = ModelCard.save

    def counting_save(card, path):
        saved.append((Path(path).name, card.temperature, "ece" in card.metrics))
        return original(card, path)

    monkeypatch.setattr(ModelCard, "save", counting_save)
    out = tmp_path / "once"
    assert main(["export", str(trained_run), "--out", str(out)]) == 0
    assert len(saved) == 1 and saved[0][0] == "card.json" and saved[0][2]  # one write, with calibration metrics
    assert ModelCard.load(out / "card.json").temperature == saved[0][1]


def test_init_starts_from_a_trained_run(trained_run, train_data, tmp_path):
    """--init fine-tunes: with a zero learning rate the new run's weights are the source run's best."""
    cfg = tmp_path / "ft.yaml"
    cfg.write_text("epochs: 1\nmodel_args: {width: 8}\nlr: 0.0\nbatch_size: 32\naugment: {erase: 0.0}\n")
    out = tmp_path / "ft"
    args = ["train", "--config", str(cfg), "--data", str(train_data), "--init", str(trained_run), "--out", str(out)]
    assert main(args) == 0
    source = torch.load(trained_run / "best.pt", weights_only=False)["model"]
    tuned = torch.load(out / "best.pt", weights_only=False)
    convs = [k for k in source if k.endswith("weight") and source[k].ndim == 4]
    assert convs and all(torch.equal(source[k], tuned["model"][k]) for k in convs)
    assert tuned["config"]["init"] == str(trained_run)
    assert "initialised from" in (out / "train.log").read_text()


def test_init_from_a_different_model_is_a_clear_error(trained_run, train_data, tmp_path, capsys):
    cfg = tmp_path / "wide.yaml"
    cfg.write_text("epochs: 1\nmodel_args: {width: 16}\nbatch_size: 32\n")
    args = ["train", "--config", str(cfg), "--data", str(train_data), "--init", str(trained_run)]
    assert main([*args, "--out", str(tmp_path / "w")]) == 2
    assert "does not fit this model" in capsys.readouterr().err
    assert (
        main(["train", "--data", str(train_data), "--init", str(tmp_path / "none"), "--out", str(tmp_path / "n")]) == 2
    )
    assert "no best.pt" in capsys.readouterr().err


def test_export_int8_of_a_training_run_exports_float_first_and_uses_the_runs_data(trained_run, tmp_path, capsys):
    out = tmp_path / "int8"
    assert main(["export", str(trained_run), "--int8", "--out", str(out), "--int8-crops", "30"]) == 0
    assert "agrees with float" in capsys.readouterr().out
    card = json.loads((out / "card.json").read_text())
    assert card["name"] == trained_run.name and card["metrics"]["int8"]["calibration_crops"] == 30
    assert card["metrics"]["int8"]["n"] == 5 * 7  # compared on the run's data's test split
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "model.onnx"]  # the float model was temporary

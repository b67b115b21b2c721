"""The scripts that move training to a lent GPU: the lossless dataset pack and the sweep planner."""

import importlib.util
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from emolens.datasets import read_dataset

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_pack_round_trip_gives_the_same_pixels_labels_and_order(kaggle_zip, tmp_path):
    fer_pack = _load("fer_pack")
    pack = tmp_path / "fer.pack.xz"
    assert fer_pack.pack(str(kaggle_zip), str(pack)) == 56
    assert fer_pack.unpack(str(pack), str(tmp_path / "out")) == 56
    before, after = read_dataset(kaggle_zip), read_dataset(tmp_path / "out")
    for split in ("train", "test"):
        assert np.array_equal(before[split].images, after[split].images)
        assert np.array_equal(before[split].labels, after[split].labels)
        assert [Path(s).with_suffix("") for s in before[split].sources] == [
            Path(s).with_suffix("") for s in after[split].sources
        ]


def test_unpack_refuses_a_file_that_is_not_a_pack(tmp_path):
    import io
    import lzma

    buf = io.BytesIO()
    np.savez(
        buf, magic=np.array("something else"), delta=np.zeros((1, 48, 48), np.uint8), names=np.array(["a/b/c.jpg"])
    )
    (tmp_path / "x.xz").write_bytes(lzma.compress(buf.getvalue()))
    with pytest.raises(SystemExit, match="not an emolens FER pack"):
        _load("fer_pack").unpack(str(tmp_path / "x.xz"), str(tmp_path / "out"))


def _config(tmp_path, name="c.yaml", width=8):
    path = tmp_path / name
    path.write_text(f"model_args: {{width: {width}}}\nbatch_size: 32\n")
    return str(path)


def test_plan_fits_the_budget_caps_and_gives_seeds_of_a_config_one_length(tmp_path):
    sweep = _load("gpu_sweep")
    a, b = _config(tmp_path, "a.yaml"), _config(tmp_path, "b.yaml")
    runs = [sweep.Run("a0", a, 0, cap=300), sweep.Run("a1", a, 1, cap=300), sweep.Run("b0", b, 0, cap=50)]
    calib = {"a0": {"epoch_s": 1.5}, "a1": {"epoch_s": 1.6}, "b0": {"epoch_s": 1.0}}
    sweep.plan(runs, calib, seconds=400, safety=0.85)
    assert runs[0].epochs == runs[1].epochs == 210  # 0.85 * 400 / 1.6 = 212 -> the slower seed, in tens
    assert runs[2].epochs == 50  # capped
    for r in runs:
        assert r.epochs * calib[r.name]["epoch_s"] <= 400


def test_equal_epochs_gives_every_config_the_slowest_runs_length(tmp_path):
    sweep = _load("gpu_sweep")
    a, b = _config(tmp_path, "a.yaml"), _config(tmp_path, "b.yaml")
    runs = [sweep.Run("cw", a, 0, cap=100), sweep.Run("base", b, 0, cap=100)]
    calib = {"cw": {"epoch_s": 2.07}, "base": {"epoch_s": 1.68}}  # session 10's calibration
    sweep.plan(runs, calib, seconds=170, safety=0.85)
    assert (runs[0].epochs, runs[1].epochs) == (60, 80)  # per config: an unfair A/B
    sweep.plan(runs, calib, seconds=170, safety=0.85, equal=True)
    assert runs[0].epochs == runs[1].epochs == 60
    sweep.plan(runs, calib, seconds=1000, safety=0.85, equal=True)
    assert runs[0].epochs == runs[1].epochs == 100  # both capped


def test_time_left_for_training_is_the_budget_less_what_came_before(tmp_path):
    """The arithmetic that failed on a loaded machine (calibration took 117 s of a 240 s budget), without timing."""
    sweep = _load("gpu_sweep")
    calib = {"s0": {"startup_s": 30.0, "epoch_s": 60.0}, "s1": {"startup_s": 95.0, "epoch_s": 61.0}}
    t0 = 1000.0
    left = sweep.seconds_left(deadline=t0 + 240, now=t0 + 117, reserve=10, calib=calib)
    assert left == pytest.approx(240 - 117 - 10 - 95)  # the slowest start-up counts
    cfg = _config(tmp_path)
    runs = [sweep.Run("s0", cfg, 0, cap=2), sweep.Run("s1", cfg, 1, cap=2)]
    sweep.plan(runs, calib, left, safety=0.85)
    assert [r.epochs for r in runs] == [0, 0]  # "not even one epoch fits": the message the sweep then logs
    sweep.plan(runs, calib, sweep.seconds_left(t0 + 3600, t0 + 117, 10, calib), safety=0.85)
    assert [r.epochs for r in runs] == [2, 2]  # a budget it cannot miss: the caps decide


def test_run_spec_parsing_and_its_errors(tmp_path):
    sweep = _load("gpu_sweep")
    cfg = _config(tmp_path)
    run = sweep.Run.parse(f"x1={cfg}:seed=3:cap=40")
    assert (run.name, run.config, run.seed, run.cap) == ("x1", cfg, 3, 40)
    with pytest.raises(SystemExit, match="unknown option"):
        sweep.Run.parse(f"x1={cfg}:lr=3")
    with pytest.raises(SystemExit, match="existing config"):
        sweep.Run.parse("x1=nowhere.yaml")


@pytest.mark.slow
def test_sweep_on_the_cpu_trains_every_run_and_packs_run_folders(train_data, tmp_path):
    """The whole pipeline (calibrate, plan, train side by side, pack) on tiny data, on the CPU.

    The budget is one no machine can miss (the caps, 2 epochs, decide the plan); how the plan follows
    the clock is test_time_left_for_training_is_the_budget_less_what_came_before, without timing."""
    pytest.importorskip("torch")
    cfg = _config(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "gpu_sweep.py"),
            "--data",
            str(train_data),
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
            "--device",
            "cpu",
            "--budget",
            "86400",
            "--calib-timeout",
            "3600",
            "--calib-steps",
            "2",
            "--run",
            f"s0={cfg}:seed=0:cap=2",
            "--run",
            f"s1={cfg}:seed=1:cap=2",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "s0: 2 epochs" in proc.stdout
    for name in ("s0", "s1"):
        with tarfile.open(out / f"{name}.tar") as tar:
            assert sorted(tar.getnames()) == sorted(
                f"{name}/{f}" for f in ("best.pt", "history.json", "config.yaml", "train.log")
            )
            hist = json.loads(tar.extractfile(f"{name}/history.json").read())
            config = tar.extractfile(f"{name}/config.yaml").read().decode()
        assert len(hist) == 2 and "epochs: 2" in config
    # a packed run folder is an ordinary one: evaluate takes it
    with tarfile.open(out / "s0.tar") as tar:
        tar.extractall(tmp_path / "runs")
    from emolens.cli import main

    assert main(["evaluate", "--model", str(tmp_path / "runs" / "s0"), "--data", str(train_data), "--json"]) == 0

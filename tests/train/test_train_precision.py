"""Training precision: `bf16: auto` follows what the CPU (or GPU) runs natively, forced values win."""

import logging

import pytest
import yaml

torch = pytest.importorskip("torch")

from emolens.cli import main  # noqa: E402
from emolens.train import precision  # noqa: E402
from emolens.train.config import TrainConfig  # noqa: E402

CPU = torch.device("cpu")


def fake_cpu(native: bool):
    return lambda: precision.CpuInfo("Test CPU 9000", "AVX512" if native else "AVX2", native)


def test_auto_is_float32_on_a_cpu_that_emulates_bf16():
    p = precision.resolve("auto", True, CPU, cpu=fake_cpu(False))
    assert p.bf16 is False and p.channels_last is True
    assert "emulates bf16" in p.reason and "Test CPU 9000" in p.device and "AVX2" in p.device


def test_auto_is_bf16_on_a_cpu_with_native_bf16():
    p = precision.resolve("auto", True, CPU, cpu=fake_cpu(True))
    assert p.bf16 is True and "native bf16" in p.reason and "AVX512" in p.device


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("forced", [True, False])
def test_true_and_false_force_the_choice(native, forced):
    assert precision.resolve(forced, False, CPU, cpu=fake_cpu(native)).bf16 is forced


def test_forced_bf16_on_an_emulating_cpu_warns_once(caplog):
    with caplog.at_level(logging.WARNING, logger="emolens.train.precision"):
        precision.resolve(True, True, CPU, cpu=fake_cpu(False))
        precision.resolve(True, True, CPU, cpu=fake_cpu(True))  # native: no warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "~10x slower" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()


def test_auto_on_a_gpu_follows_its_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d: "Fake GPU")
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda supported=supported: supported)
        p = precision.resolve("auto", True, torch.device("cuda:0"))
        assert p.bf16 is supported and "Fake GPU" in p.device


@pytest.mark.parametrize(
    "text, value", [("auto", "auto"), ("AUTO", "auto"), ("true", True), ("off", False), (True, True)]
)
def test_config_values_parse(text, value):
    assert precision.parse_bf16(text) == value
    assert TrainConfig.from_dict({"bf16": text}).bf16 == value


def test_a_bad_bf16_value_is_a_clear_error():
    with pytest.raises(ValueError, match="auto, true or false"):
        TrainConfig.from_dict({"bf16": "maybe"})


def test_defaults_and_every_shipped_config_say_auto():
    from pathlib import Path

    assert TrainConfig().bf16 == "auto"
    configs = sorted(Path(__file__).resolve().parents[2].glob("configs/**/*.yaml"))
    assert configs
    for path in configs:
        assert TrainConfig.load(path).bf16 == "auto", path


@pytest.mark.slow
def test_the_run_records_what_auto_chose_and_why(train_data, tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_info", fake_cpu(False))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("epochs: 1\nmodel_args: {width: 8}\nbatch_size: 32\n")
    run = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--data", str(train_data), "--out", str(run), "--limit", "40"]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["bf16"] == "auto"  # what was asked: a resume on another CPU chooses again
    assert saved["precision"]["bf16"] is False and "Test CPU 9000" in saved["precision"]["device"]
    assert "emulates bf16" in saved["precision"]["reason"]
    log = (run / "train.log").read_text()
    assert "precision: float32" in log and "Test CPU 9000, AVX2, bf16 emulated" in log
    # a flag forces it, and resuming re-resolves on the machine it resumes on
    monkeypatch.setattr(precision, "cpu_info", fake_cpu(True))
    run2 = tmp_path / "run2"
    assert (
        main(
            [
                "train",
                "--config",
                str(cfg),
                "--data",
                str(train_data),
                "--out",
                str(run2),
                "--limit",
                "40",
                "--bf16",
                "false",
            ]
        )
        == 0
    )
    assert yaml.safe_load((run2 / "config.yaml").read_text())["precision"]["bf16"] is False

"""`emolens train` and `emolens export`: the verbs of the [train] extra.

torch is optional: its modules are imported inside the two commands, so `--help` works on the
base install and a missing extra is one line ("pip install 'emolens[train]'"), not a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emolens.cli.common import FORMATTER, CliError, tta_arg

EXAMPLES = {
    "train": """examples:
  emolens train --config configs/default.yaml --data ../shared/datasets/fer2013/fer2013.zip
  emolens train --data fer2013.zip --model vgg --epochs 2 --out runs/try
  emolens train --resume runs/try            # continue a stopped run
  emolens train --config configs/experiments/realfaces/f1-finetune-camera.yaml --init runs/fast --out runs/ft   # fine-tune
  emolens train --config configs/default.yaml --data fer2013.zip --device cuda   # on a GPU (default: auto)
  emolens train --config configs/default.yaml --data fer2013.zip --seed 1 --out runs/seed1   # one member only
  emolens train --config configs/fast.yaml --data fer2013.zip --teacher default --out runs/fast-kd   # distil
  emolens train --config configs/fast.yaml --data fer2013.zip --labels ferplus --ferplus-mode mixed --out runs/fp
  emolens train --config configs/fast.yaml --data fer2013.zip --labels ferplus --classes 8 --out runs/fp8   # + contempt""",  # noqa: E501
    "export": """examples:
  emolens export runs/default --out exported/default
  emolens export runs/default --out src/emolens/models/default --name default
  emolens export runs/seed0 runs/seed1 --out exported/ensemble   # logits averaged in one ONNX graph
  emolens export runs/default --out exported/default --half   # a folder of members (seed*/) = their ensemble
  emolens export runs/try --out exported/try --tta flip,zoom
  emolens export runs/default runs/input40 --out exported/mixed   # a 40 px member is fed a resized 48 px input
  emolens export runs/gpu/a0 runs/gpu/a1 --out exported/ens --half --data fer2013.zip   # trained elsewhere: calibrate here
  emolens export default --int8 --data ../shared/datasets/fer2013/fer2013.zip --out exported/default-int8   # int8
  emolens export runs/default --int8 --out exported/default-int8   # a run: exported, then quantized
  emolens export exported/mine --int8 --out exported/mine --data fer2013.zip   # int8 beside the float graph""",  # noqa: E501
}
BF16 = {"auto": "auto", "true": True, "false": False}


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    p = sub.add_parser(name, help=help, epilog=EXAMPLES[name], formatter_class=FORMATTER)
    (_train_args if name == "train" else _export_args)(p)


def _train_args(t: argparse.ArgumentParser) -> None:
    t.add_argument("--config", help="YAML config; flags given here override it")
    t.add_argument("--data", help="dataset path (see `emolens data`)")
    t.add_argument("--layout", choices=["auto", "kaggle", "csv", "folder"], help="force a dataset layout")
    t.add_argument("--label-map", help="names | rafdb | YAML file mapping folder names to emotions")
    t.add_argument("--model", help="architecture name (vgg, resnet18, resemotenet, simple_deep_cnn)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float, help="max learning rate")
    t.add_argument("--seed", type=int)
    t.add_argument("--limit", type=int, help="train on the first N images only (smoke runs)")
    t.add_argument(
        "--bf16",
        choices=["auto", "true", "false"],
        help="bf16 autocast: auto (default: only where the CPU/GPU runs bf16 natively), true or false to force",
    )
    t.add_argument("--no-bf16", action="store_true", help="train in float32 (same as --bf16 false)")
    t.add_argument("--device", help="auto (default: a CUDA GPU when torch sees one, else the CPU), cpu or cuda[:N]")
    t.add_argument(
        "--labels",
        choices=["fer2013", "ferplus"],
        help="train on FER2013's labels or FER+ votes (ferplus.csv beside --data)",
    )
    t.add_argument(
        "--ferplus-mode",
        choices=["majority", "crossentropy", "probability", "mixed"],
        help="how FER+ votes become targets (default crossentropy: the vote distribution)",
    )
    t.add_argument("--classes", type=int, choices=[7, 8], help="7 emotions, or 8 with FER+'s contempt")
    t.add_argument(
        "--teacher",
        action="append",
        metavar="MODEL",
        help="distil from this run folder or exported model (repeat for an ensemble of teachers)",
    )
    t.add_argument(
        "--init",
        metavar="RUN_DIR",
        help="start from the best weights of this run (same model): fine-tune it with this config",
    )
    t.add_argument("--out", help="run folder (default: runs/<model>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    t.set_defaults(handler=cmd_train)


def _export_args(x: argparse.ArgumentParser) -> None:
    x.add_argument(
        "run",
        nargs="+",
        help="training run folder (holds best.pt) or a folder of members (seed*/); several = one averaged ensemble "
        "(input sizes may differ: the card takes the largest); with --int8 also an exported model folder or "
        "a shipped model name",
    )
    x.add_argument("--out", required=True, help="output folder")
    x.add_argument("--name", default=None, help="model name written in the card (default: the run folder's name)")
    x.add_argument("--no-calibrate", action="store_true", help="skip temperature scaling on the validation split")
    x.add_argument(
        "--data", help="dataset whose validation split calibrates the model (default: the run's training data)"
    )
    x.add_argument(
        "--half", action="store_true", help="store weights as float16 (half the file, same speed; for ensembles)"
    )
    x.add_argument(
        "--tta",
        type=tta_arg,
        default=None,
        help="test-time augmentation written in the card: none or a comma list of flip, zoom, shift "
        "(default: the config's eval_tta)",
    )
    x.add_argument(
        "--int8",
        action="store_true",
        help="write a static int8 model (ONNX Runtime, QDQ) calibrated on Training crops of --data (default: the "
        "run's data), with its top-1 agreement and accuracy against the float model on the validation split; with "
        "--out the model's own folder, it is written beside the float graph (model.int8.onnx) and the runtime "
        "reads faces with it",
    )
    x.add_argument(
        "--int8-crops",
        type=int,
        default=1000,
        metavar="N",
        help="--int8: Training crops that calibrate the int8 ranges (default: %(default)s)",
    )
    x.set_defaults(handler=cmd_export)


def cmd_train(args: argparse.Namespace) -> int:
    from emolens.train.loop import fit, fit_members, log_to_run  # the [train] extra

    cfg, out = _resumed(args) if args.resume else _configured(args)
    log_to_run(out)
    if len(cfg.ensemble_seeds) > 1:
        rows = fit_members(cfg, out)
        for seed, row in zip(cfg.ensemble_seeds, rows):
            print(f"seed {seed}: best epoch {row.get('epoch')}, val accuracy {row.get('val_accuracy', 0):.4f}")
        print(f"{len(rows)} members in {out}; export them as one model: emolens export {out} --out DIR")
        return 0
    best = fit(cfg, out, resume=bool(args.resume))
    print(
        f"best epoch {best.get('epoch')}: val accuracy {best.get('val_accuracy', 0):.4f}, "
        f"macro-F1 {best.get('val_macro_f1', 0):.4f}; run folder {out}"
    )
    return 0


def _resumed(args: argparse.Namespace):
    """The config of the run in --resume, with the flags a resumed run may change (device, bf16)."""
    from emolens.train.config import TrainConfig  # the [train] extra

    run = Path(args.resume)
    if not (run / "config.yaml").is_file():
        raise CliError(f"{run} is not a run folder (no config.yaml)")
    cfg = TrainConfig.load(run / "config.yaml")
    if args.device:
        cfg.device = args.device  # a run started on a GPU may go on on the CPU, and back
    if args.bf16:
        cfg.bf16 = BF16[args.bf16]
    return cfg, run


def _configured(args: argparse.Namespace):
    """The config file (or the defaults) with the flags given on top, and the new run's folder."""
    from emolens.train.config import TrainConfig  # the [train] extra

    cfg = TrainConfig.load(args.config) if args.config else TrainConfig()
    overrides = {
        "data": args.data,
        "layout": args.layout,
        "label_map": args.label_map,
        "model": args.model,
        "labels": args.labels,
        "ferplus_mode": args.ferplus_mode,
        "classes": args.classes,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "limit": args.limit,
        "device": args.device,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    if args.bf16:
        cfg.bf16 = BF16[args.bf16]
    if args.no_bf16:
        cfg.bf16 = False
    if args.teacher:
        cfg.teachers = list(args.teacher)
    if args.init:
        if not (Path(args.init) / "best.pt").is_file() and not Path(args.init).is_file():
            raise CliError(f"--init {args.init}: no best.pt there (give a finished or stopped run folder)")
        cfg.init = args.init
    if args.seed is not None:
        cfg.ensemble_seeds = []  # --seed trains that one member of a multi-seed recipe
    if not cfg.data:
        raise CliError("no dataset: pass --data PATH (or set data: in the config)")
    out = Path(args.out or f"runs/{cfg.model}")
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise CliError(f"--out {out} exists and is not a folder (a file, or a link to nothing): choose another --out")
    if (out / "last.pt").exists():
        raise CliError(f"{out} already holds a run: use --resume {out} or another --out")
    return cfg, out


def cmd_export(args: argparse.Namespace) -> int:
    if args.int8:
        return _export_int8(args)
    from emolens.train.export import export_run  # the [train] extra

    card = export_run(
        args.run,
        args.out,
        name=args.name or Path(args.run[0]).name,
        calibrate=not args.no_calibrate,
        tta=args.tta,
        half=args.half,
        data=args.data,
    )
    print(f"wrote {Path(args.out) / 'model.onnx'} and card.json (sha256 {card.onnx_sha256[:12]}...)")
    return 0


def _export_int8(args: argparse.Namespace) -> int:
    """An exported model (or shipped name) is quantized as it is; training runs are exported to float first."""
    import tempfile

    from emolens.inference.model_store import resolve_model_dir
    from emolens.train.quantize import quantize_model  # the [train] extra (onnx)

    if args.int8_crops < 1:
        raise CliError(f"--int8-crops must be at least 1, got {args.int8_crops}")
    with tempfile.TemporaryDirectory(prefix="emolens-float-") as tmp:
        if len(args.run) == 1 and _is_exported(args.run[0]):
            src = resolve_model_dir(args.run[0])
            train_config: dict = {}
        else:
            from emolens.train.export import export_run

            card = export_run(
                args.run, tmp, name=args.name or Path(args.run[0]).name, calibrate=not args.no_calibrate,
                tta=args.tta, half=False, data=args.data,
            )  # fmt: skip
            src, train_config = Path(tmp), card.train_config
        data = (
            args.data
            or train_config.get("data")
            or next((m.get("data") for m in train_config.get("members", []) if m.get("data")), None)
        )
        if not data:
            raise CliError("--int8 needs --data: the dataset whose Training crops calibrate the int8 ranges")
        if not Path(data).exists():
            raise CliError(f"--data {data} does not exist")
        card = quantize_model(src, args.out, data, crops=args.int8_crops, name=args.name)
    m = card.metrics["int8"]
    compared = (
        f"; on {m['n']} {m['split']} crops top-1 agrees with float on {m['agreement']:.2%}, accuracy "
        f"{m['accuracy_float']:.2%} float -> {m['accuracy_int8']:.2%} int8"
        if "agreement" in m
        else ""
    )
    graph = card.int8_file or card.onnx_file  # beside the float graph when --out is the model's own folder
    print(f"wrote the int8 model {Path(args.out) / graph} and card.json{compared}")
    return 0


def _is_exported(model: str) -> bool:
    """A folder with card.json (or a .onnx beside one), or a shipped model name, rather than a training run."""
    from emolens.core.card import CardError
    from emolens.inference.model_store import resolve_model_dir

    try:
        resolve_model_dir(model)
    except CardError:
        return False
    return True

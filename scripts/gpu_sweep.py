"""Train several recipes at once on one GPU inside a fixed wall-clock budget.

Why: a lent GPU comes for minutes, not hours, and is gone afterwards. This script
1. calibrates: starts every run at once on a throwaway model and times its training steps,
   validation pass and checkpoint while all of them compete for the GPU;
2. sizes each run's schedule (epochs) so that all of them end inside the budget (OneCycle
   needs its length up front), giving the seeds of one config the same epochs (every run,
   with --equal-epochs, for A/B comparisons), and keeps
   fewer runs (the first --keep, re-calibrated) when all would get under --min-epochs;
3. trains them concurrently with the ordinary training loop (`emolens.train.loop.fit`), and
   every --pack-every seconds packs each run's best.pt (float16 when it would not fit the
   transfer limit), history, config and log into OUT/<name>.tar, so a run cut off at the
   limit still leaves its best checkpoint behind.

    python scripts/gpu_sweep.py --data /tmp/fer2013 --out "$OUT" --budget 500 \\
        --run a0=configs/default.yaml:seed=0:cap=300 --run a1=configs/default.yaml:seed=1:cap=300

Each run folder is an ordinary run folder (config.yaml with the epochs it trained, history.json,
best.pt, train.log): `emolens evaluate` and `emolens export` take it as it is.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

PACK_LIMIT = 15_000_000  # bytes: a file the device tool brings back must be under 16 MiB
CKPT_OVERHEAD_S = 0.05  # metrics and history per epoch, beside the measured checkpoint save


@dataclass
class Run:
    name: str
    config: str
    seed: int = 0
    cap: int = 300  # most epochs
    epochs: int = 0

    @classmethod
    def parse(cls, spec: str) -> Run:
        """'name=config.yaml[:seed=S][:cap=E]'."""
        name, _, rest = spec.partition("=")
        config, *opts = rest.split(":")
        run = cls(name, config)
        for opt in opts:
            key, _, value = opt.partition("=")
            if key not in ("seed", "cap"):
                raise SystemExit(f"--run {spec}: unknown option {key!r} (seed, cap)")
            setattr(run, key, int(value))
        if not name or not Path(config).is_file():
            raise SystemExit(f"--run {spec}: expected name=CONFIG with an existing config file")
        return run


def load_cfg(run: Run, data: str, device: str, epochs: int | None = None):
    from emolens.train.config import TrainConfig

    cfg = TrainConfig.load(run.config)
    cfg.data, cfg.seed, cfg.device, cfg.threads = data, run.seed, device, 2
    cfg.ensemble_seeds = []  # one run = one member, as `emolens train --seed` makes it
    if epochs:
        cfg.epochs = epochs
    return cfg


# ---- worker processes --------------------------------------------------------------------


def calibrate(run: Run, data: str, device: str, work: Path, n_runs: int, steps: int) -> None:
    """Time `steps` training steps, one validation pass and one checkpoint while all runs compete."""
    t_start = time.monotonic()
    import dataclasses

    import numpy as np
    import torch

    from emolens.train.data import Data
    from emolens.train.loop import predict_logits, prepare, train_one_epoch

    cfg = load_cfg(run, data, device, epochs=1000)  # a long OneCycle: the timing must never step past its end
    s = prepare(cfg)  # the same set-up as the run it times, on a throwaway model
    cfg = s.cfg  # bf16 / channels_last resolved for this device, as fit trains
    d, dev, model, opt, sched = s.data, s.device, s.model, s.opt, s.sched
    xt, xv = d.x_train, d.x_val
    per_epoch = math.ceil(len(d.train) / cfg.batch_size)

    def part(n_steps: int) -> Data:
        n = min(n_steps * cfg.batch_size, len(d.train))
        cut = lambda t: t[:n] if t is not None else None  # noqa: E731
        return dataclasses.replace(
            d,
            train=d.train.subset(np.arange(n)),
            x_train=xt[:n],
            targets=cut(d.targets),
            weights=cut(d.weights),
            x_recrop=cut(d.x_recrop),
        )

    def steps_on(n_steps: int) -> None:
        train_one_epoch(model, part(n_steps), cfg, opt, sched, s.augment, s.weight, s.g, 0, device=dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    steps_on(15)  # warm-up, cuDNN autotune
    predict_logits(model, xv, d.val, cfg, cfg.eval_tta)
    sync()
    startup_s = time.monotonic() - t_start  # what a training process spends before its first epoch
    _barrier(work / "ready", run.name, n_runs)
    t0 = time.perf_counter()
    steps_on(steps)
    sync()
    step_s = (time.perf_counter() - t0) / min(steps, per_epoch)
    t0 = time.perf_counter()
    predict_logits(model, xv, d.val, cfg, cfg.eval_tta)
    val_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, work / f"{run.name}.ckpt")
    save_s = time.perf_counter() - t0
    epoch_s = step_s * per_epoch + val_s + save_s + CKPT_OVERHEAD_S
    result = {
        "startup_s": startup_s,
        "step_s": step_s,
        "val_s": val_s,
        "save_s": save_s,
        "epoch_s": epoch_s,
        "steps_per_epoch": per_epoch,
    }
    (work / "done").mkdir(exist_ok=True)
    (work / "done" / f"{run.name}.json").write_text(json.dumps(result))
    # keep the GPU as busy as during the timing until every run has been timed
    deadline = time.monotonic() + 120
    while len(list((work / "done").glob("*.json"))) < n_runs and time.monotonic() < deadline:
        steps_on(10)


def _barrier(folder: Path, name: str, n: int, timeout: float = 90) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < n and time.monotonic() < deadline:
        time.sleep(0.05)


def train(run: Run, data: str, device: str, out: Path) -> None:
    from emolens.train.loop import fit, log_to_run

    log_to_run(out)
    best = fit(load_cfg(run, data, device, run.epochs), out)
    logging.getLogger(__name__).info("best epoch %s: val accuracy %.4f", best.get("epoch"), best.get("val_accuracy", 0))


# ---- the orchestrator ----------------------------------------------------------------------


def spawn(args, verb: str, run: Run, extra: list[str], log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        __file__,
        verb,
        "--data",
        args.data,
        "--device",
        args.device,
        "--work",
        str(args.work),
        "--run",
        f"{run.name}={run.config}:seed={run.seed}:cap={run.cap}",
        *extra,
    ]
    env = dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS="2", PYTHONUNBUFFERED="1")
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def calibrate_all(args, runs: list[Run], work: Path) -> dict[str, dict]:
    for sub in ("ready", "done"):
        for f in (work / sub).glob("*") if (work / sub).is_dir() else []:
            f.unlink()
    procs = [
        spawn(
            args,
            "_calibrate",
            r,
            ["--n-runs", str(len(runs)), "--steps", str(args.calib_steps)],
            work / "logs" / f"calibrate-{r.name}.log",
        )
        for r in runs
    ]

    def failed(name: str) -> SystemExit:
        for p in procs:
            p.kill()
        log = (work / "logs" / f"calibrate-{name}.log").read_text()
        return SystemExit(f"calibration of {name} failed:\n{log[-3000:]}")

    deadline = time.monotonic() + args.calib_timeout
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        crashed = [r for r, p in zip(runs, procs) if p.poll()]
        if crashed:  # fail fast: the others would wait at the barrier for nothing
            raise failed(crashed[0].name)
        time.sleep(0.2)
    for p in procs:
        p.kill()
    results = {}
    for r in runs:
        f = work / "done" / f"{r.name}.json"
        if not f.is_file():
            raise failed(r.name)
        results[r.name] = json.loads(f.read_text())
    return results


def plan(runs: list[Run], calib: dict[str, dict], seconds: float, safety: float, equal: bool = False) -> None:
    """Epochs per run: as many as fit `seconds` (times `safety`), at most its cap, in tens; one count per config,
    or one count for all runs when `equal` (an A/B comparison is only fair at the same schedule length)."""
    for r in runs:
        r.epochs = min(r.cap, int(safety * seconds / calib[r.name]["epoch_s"]))
    for config in {"all"} if equal else {r.config for r in runs}:
        same = [r for r in runs if equal or r.config == config]
        e = min(r.epochs for r in same)
        for r in same:
            r.epochs = e // 10 * 10 if e >= 20 else e


def seconds_left(deadline: float, now: float, reserve: float, calib: dict[str, dict]) -> float:
    """Training seconds the plan may fill: until the deadline, less the packing reserve and the slowest
    run's start-up (a training process spends that before its first epoch)."""
    return deadline - now - reserve - max(c["startup_s"] for c in calib.values())


def pack(run: Run, folder: Path, out: Path) -> None:
    """OUT/<name>.tar with best.pt (float16 tensors if too big to bring back), history, config, log."""
    try:
        _pack(run, folder, out)
    except Exception:  # a file caught mid-write: the next pack takes it
        logging.getLogger("sweep").exception("packing %s failed", run.name)


def _pack(run: Run, folder: Path, out: Path) -> None:
    import torch

    if not (folder / "best.pt").is_file():
        return
    best = folder / "best.pt"
    if best.stat().st_size > PACK_LIMIT:
        ck = torch.load(best, map_location="cpu", weights_only=False)
        ck["model"] = {k: v.half() if v.is_floating_point() else v for k, v in ck["model"].items()}
        ck["packed_float16"] = True
        torch.save(ck, folder / "best16.pt")
        best = folder / "best16.pt"
    part = out / f"{run.name}.tar.part"
    with tarfile.open(part, "w") as tar:
        tar.add(best, arcname=f"{run.name}/best.pt")
        for name in ("history.json", "config.yaml", "train.log"):
            if (folder / name).is_file():
                tar.add(folder / name, arcname=f"{run.name}/{name}")
    os.replace(part, out / f"{run.name}.tar")


def status(runs: list[Run], work: Path) -> str:
    parts = []
    for r in runs:
        h = work / "runs" / r.name / "history.json"
        try:
            hist = json.loads(h.read_text()) if h.is_file() else []
        except (OSError, ValueError):  # being written right now
            hist = []
        best = max((row["val_accuracy"] for row in hist), default=0.0)
        parts.append(f"{r.name} {len(hist)}/{r.epochs} best {best:.4f}")
    return " | ".join(parts)


def orchestrate(args) -> int:
    t_start = time.monotonic()
    deadline = t_start + args.budget
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    runs = [Run.parse(s) for s in args.run]
    log = logging.getLogger("sweep")
    calib = calibrate_all(args, runs, work)
    log.info(
        "calibration (%d runs at once, %.0f s): %s",
        len(runs),
        time.monotonic() - t_start,
        {k: round(v["epoch_s"], 2) for k, v in calib.items()},
    )
    left = seconds_left(deadline, time.monotonic(), args.reserve, calib)
    plan(runs, calib, left, args.safety, args.equal_epochs)
    if min(r.epochs for r in runs) < args.min_epochs and args.keep < len(runs):
        runs = runs[: args.keep]
        calib = calibrate_all(args, runs, work)
        log.info("re-calibrated with %d runs: %s", len(runs), {k: round(v["epoch_s"], 2) for k, v in calib.items()})
        left = seconds_left(deadline, time.monotonic(), args.reserve, calib)
        plan(runs, calib, left, args.safety, args.equal_epochs)
    log.info(
        "plan for %.0f s: %s",
        left,
        ", ".join(f"{r.name}: {r.epochs} epochs (~{r.epochs * calib[r.name]['epoch_s']:.0f} s)" for r in runs),
    )
    if any(r.epochs < 1 for r in runs):
        log.error("not even one epoch fits for %s: give a larger --budget", [r.name for r in runs if r.epochs < 1])
        runs = [r for r in runs if r.epochs >= 1]
    procs = {
        r.name: spawn(
            args,
            "_train",
            Run(r.name, r.config, r.seed, r.cap, r.epochs),
            ["--epochs", str(r.epochs)],
            work / "logs" / f"train-{r.name}.log",
        )
        for r in runs
    }
    last_pack = time.monotonic()
    while any(p.poll() is None for p in procs.values()):
        time.sleep(1)
        if time.monotonic() > deadline:
            log.warning("budget spent: stopping %s", [n for n, p in procs.items() if p.poll() is None])
            for p in procs.values():
                p.kill()
            break
        if time.monotonic() - last_pack > args.pack_every:
            for r in runs:
                pack(r, work / "runs" / r.name, out)
            log.info("%.0f s: %s", time.monotonic() - t_start, status(runs, work))
            last_pack = time.monotonic()
    for r in runs:
        pack(r, work / "runs" / r.name, out)
        rc = procs[r.name].poll()
        if rc:
            log.error("%s exited with %s:\n%s", r.name, rc, (work / "logs" / f"train-{r.name}.log").read_text()[-2000:])
    log.info("done in %.0f s: %s", time.monotonic() - t_start, status(runs, work))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "verb", nargs="?", default="sweep", choices=["sweep", "_calibrate", "_train"], help=argparse.SUPPRESS
    )
    ap.add_argument("--data", required=True, help="dataset path (any layout `emolens train` reads)")
    ap.add_argument("--run", action="append", required=True, help="name=CONFIG[:seed=S][:cap=E], in priority order")
    ap.add_argument("--out", default=os.environ.get("OUT", "sweep-out"), help="where the run tars go (default: $OUT)")
    ap.add_argument("--work", default="/tmp/emolens-sweep", help="run folders and logs")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--budget", type=float, default=500, help="seconds from start to the last epoch's end")
    ap.add_argument("--reserve", type=float, default=10, help="seconds kept for the final packing")
    ap.add_argument("--safety", type=float, default=0.85, help="share of the time left that the plan fills")
    ap.add_argument(
        "--min-epochs", type=int, default=0, help="fewer epochs than this for any run: keep only --keep runs"
    )
    ap.add_argument("--keep", type=int, default=2)
    ap.add_argument(
        "--equal-epochs",
        action="store_true",
        help="give every run the same number of epochs (A/B comparisons), not one count per config",
    )
    ap.add_argument("--calib-steps", type=int, default=60)
    ap.add_argument(
        "--calib-timeout",
        type=float,
        default=400,
        help="seconds the calibration may take before the sweep gives up (default: %(default)s)",
    )
    ap.add_argument("--pack-every", type=float, default=30)
    ap.add_argument("--n-runs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=60, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    work = Path(args.work)
    if args.verb == "_calibrate":
        calibrate(Run.parse(args.run[0]), args.data, args.device, work, args.n_runs, args.steps)
    elif args.verb == "_train":
        run = Run.parse(args.run[0])
        run.epochs = args.epochs
        train(run, args.data, args.device, work / "runs" / run.name)
    else:
        return orchestrate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

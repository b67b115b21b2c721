"""Export a training run to model.onnx + card.json, checked for parity and calibrated.

Calibration fits a temperature on the run's validation split (PublicTest for
FER2013) with the TTA the runtime applies, and sets the card's `uncertain_below`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

from emolens.core.card import ModelCard, sha256_file
from emolens.core.metrics import classification_metrics, fit_temperature, softmax
from emolens.core.preprocess import preprocess
from emolens.core.tta import parse_tta
from emolens.evaluation.evaluate import model_logits, onnx_logits, split_for_eval
from emolens.train.inputs import card_for
from emolens.train.runs import load_run, member_runs

log = logging.getLogger(__name__)
PARITY_TOL = 1e-4
HALF_PARITY_TOL = 5e-3  # float16-stored weights round each weight by up to 2**-11 of its size


def export_onnx(model: torch.nn.Module, card: ModelCard, path: Path) -> None:
    """float32 ONNX with a dynamic batch axis: input 'input' (N, C, S, S) -> 'logits' (N, K)."""
    model = model.float().eval().to(memory_format=torch.contiguous_format)
    dummy = torch.zeros(1, card.channels, card.input_size, card.input_size)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def store_half(path: Path, min_size: int = 1024) -> None:
    """Store the large float32 weights of an ONNX file as float16, cast back to float32 in the graph.

    Halves the file (an ensemble must stay under 20 MB) without changing the arithmetic:
    ONNX Runtime folds the Casts of constant weights once, when the session loads.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits, casts = [], []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and np.prod(init.dims) >= min_size:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
            inits.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
        else:
            inits.append(init)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def check_parity(model: torch.nn.Module, onnx_path: Path, batch: np.ndarray, tol: float = PARITY_TOL) -> float:
    """Max |p_torch - p_onnx| on one preprocessed batch; raises if above `tol`."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        p_torch = torch.softmax(model.float()(torch.from_numpy(batch)), 1).numpy()
    p_onnx = softmax(sess.run(None, {"input": batch})[0])
    diff = float(np.abs(p_torch - p_onnx).max())
    if diff > tol:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.2e} (> {tol}) on the parity batch")
    return diff


def uncertain_threshold(probs: np.ndarray, y: np.ndarray, window: float = 0.05) -> float:
    """Lowest confidence t from which predictions near t (t +/- window) are right at least half the time.

    Below it a prediction is more likely wrong than right: the runtime flags it "uncertain".
    """
    conf, right = probs.max(1), probs.argmax(1) == y
    for t in np.arange(0.2, 0.91, 0.01):
        m = np.abs(conf - t) < window
        if m.sum() >= 20 and right[m].mean() >= 0.5:
            return round(float(t), 2)
    return 0.9


class Ensemble(torch.nn.Module):
    """Mean of the members' logits: several runs exported as one ONNX graph."""

    def __init__(self, members: list[torch.nn.Module]):
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, S, S) -> (B, K)
        return torch.stack([m(x) for m in self.members]).mean(0)


def resize_matrix(src: int, dst: int, interpolation: str = "area") -> np.ndarray:
    """(dst, src) matrix R with R @ X @ R.T == cv2.resize(X, (dst, dst)) for a float image X.

    OpenCV's area and linear resizes are separable and linear in the pixels, so resizing
    each basis vector gives the exact operator: a member trained at a smaller input sees,
    inside the ensemble graph, the pixels `preprocess` would have given it from the same crop.
    """
    import cv2

    from emolens.core.preprocess import _INTERP

    eye = np.eye(src, dtype=np.float32)
    return np.stack(
        [cv2.resize(eye[:, [j]], (1, dst), interpolation=_INTERP[interpolation])[:, 0] for j in range(src)], axis=1
    )


class Resized(torch.nn.Module):
    """A member trained at a smaller input, fed the ensemble's larger input through a fixed resize."""

    def __init__(self, member: torch.nn.Module, matrix: np.ndarray):
        super().__init__()
        self.member = member
        self.register_buffer("matrix", torch.from_numpy(matrix))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, S, S) -> member(B, C, s, s)
        return self.member(self.matrix @ x @ self.matrix.T)


def _load_members(run_dirs: list[Path]):
    loaded = [load_run(r) for r in run_dirs]
    cards = [card_for(c) for _, c, _ in loaded]
    pixels = {(k.mean, k.std, k.channels, k.interpolation) for k in cards}
    if len(pixels) > 1:
        raise ValueError("ensemble members must share normalisation and resize method (one card, one preprocessing)")
    cfgs = [c for _, c, _ in loaded]
    if len(loaded) == 1:
        return loaded[0][0], cfgs, loaded[0][2]
    # The card takes the largest input; smaller members get an exact resize inside the graph.
    size = max(c.input_size for c in cfgs)
    members = [
        m if k.input_size == size else Resized(m, resize_matrix(size, k.input_size, k.interpolation))
        for (m, _, _), k in zip(loaded, cards)
    ]
    model = Ensemble(members).eval()
    return model, cfgs, {"epoch": [c.get("epoch") for _, _, c in loaded]}


def export_run(
    run_dir: str | Path | list,
    out: str | Path,
    *,
    name: str | None = None,
    calibrate: bool = True,
    tta: str | None = None,
    half: bool = False,
    data: str | None = None,
) -> ModelCard:
    """Export one run, or several runs as an ensemble (logits averaged inside the graph).

    Calibration reads the validation split of `data`, by default the dataset the run was
    trained on; pass it for a run trained on another machine (a lent GPU, say).
    """
    run_dirs = [m for r in (run_dir if isinstance(run_dir, (list, tuple)) else [run_dir]) for m in member_runs(r)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model, cfgs, ck = _load_members(run_dirs)
    cfg = max(cfgs, key=lambda c: c.input_size)  # card geometry; data and split used for calibration
    if data:
        cfg = replace(cfg, data=str(data))
    if calibrate and cfg.data and not Path(cfg.data).exists():
        raise FileNotFoundError(
            f"the calibration data {cfg.data} (from the run's config) does not exist here: "
            "pass --data PATH, or --no-calibrate"
        )
    card = card_for(cfg).with_(name=name or Path(run_dir if isinstance(run_dir, (str, Path)) else run_dir[0]).name)
    if tta is not None:
        card = card.with_(tta=parse_tta(tta))
    if len(cfgs) > 1:
        card = card.with_(
            arch=f"ensemble of {len(cfgs)} x {cfg.model}", train_config={"members": [c.to_dict() for c in cfgs]}
        )
    onnx_path = out / card.onnx_file
    export_onnx(model, card, onnx_path)
    if half:
        store_half(onnx_path)
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (16, card.input_size + 8, card.input_size + 8), dtype=np.uint8)
    diff = check_parity(model, onnx_path, preprocess(crops, card), HALF_PARITY_TOL if half else PARITY_TOL)
    log.info("ONNX parity: max |dp| = %.2e", diff)
    metrics = {"parity_max_abs_diff": diff, "best_epoch": ck.get("epoch")}
    if half:
        metrics["weights"] = "float16"
    histories = [r / "history.json" for r in run_dirs if (r / "history.json").is_file()]
    if histories:
        rows = [row for h in histories for row in json.loads(h.read_text())]
        metrics["train_minutes"] = round(sum(r["train_seconds"] for r in rows) / 60, 1)
        metrics["epochs_run"] = len(rows)
    card = card.with_(onnx_sha256=sha256_file(onnx_path), metrics=metrics)
    if calibrate and cfg.data:
        card = calibrate_card(onnx_path, card, cfg.data, cfg.val_split, layout=cfg.layout, label_map=cfg.label_map)
    card.save(out / "card.json")  # once, complete: a folder with a card is a finished model
    return card


def calibrate_card(
    onnx_path: Path, card: ModelCard, data: str | Path, val_split: str, *, layout: str = "auto", label_map=None
) -> ModelCard:
    """The card with a temperature fitted on `data`'s validation split, and the metrics it gives there."""
    split, train_digests = split_for_eval(str(data), val_split, layout, label_map)
    logits, info = model_logits(onnx_path, split, "card", logits=partial(onnx_logits, onnx_path, card=card))
    names = tuple(info["labels"])  # the dataset's labels, then the model's extra ones (contempt)
    before = classification_metrics(softmax(logits), split.labels, names)
    objective = "brier"  # see fit_temperature: it keeps ECE lower than NLL on FER2013's noisy labels
    t = fit_temperature(logits, split.labels, objective=objective)
    probs = softmax(logits, t)
    after = classification_metrics(probs, split.labels, names)
    metrics = dict(
        card.metrics,
        split=val_split,
        n=after["n"],
        accuracy=round(after["accuracy"], 4),
        macro_f1=round(after["macro_f1"], 4),
        ece_before=round(before["ece"], 4),
        ece=round(after["ece"], 4),
        temperature_fit=objective,
    )
    if train_digests:
        keep = np.array([d not in train_digests for d in split.digests])
        sub = classification_metrics(probs[keep], split.labels[keep], names)
        metrics["without_train_duplicates"] = {
            "n": sub["n"],
            "accuracy": round(sub["accuracy"], 4),
            "macro_f1": round(sub["macro_f1"], 4),
        }
    card = card.with_(
        temperature=round(t, 4), uncertain_below=uncertain_threshold(probs, split.labels), metrics=metrics
    )
    log.info(
        "calibrated on %s: T=%.3f, ECE %.4f -> %.4f, uncertain below %.2f",
        val_split,
        t,
        before["ece"],
        after["ece"],
        card.uncertain_below,
    )
    return card

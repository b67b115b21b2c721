"""Static int8 models (ONNX Runtime, QDQ) from an exported float model, calibrated on Training crops.

Weights become int8 per output channel, activations uint8 with ranges observed on a fixed sample
of Training crops fed exactly as the runtime feeds faces (the card's preprocessing and its TTA
views), a bounded batch at a time. The int8 model is then compared with the float one on the
validation split (PublicTest for FER2013): top-1 agreement and both accuracies go in its card
(`metrics.int8`), so whoever ships it sees what it costs. Needs the [train] extra's `onnx`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emolens.core.card import ModelCard, sha256_file
from emolens.core.metrics import classification_metrics, softmax
from emolens.core.preprocess import preprocess
from emolens.core.tta import tta_views
from emolens.datasets.readers import read_dataset
from emolens.datasets.types import DataError, Split
from emolens.evaluation.evaluate import model_logits
from emolens.inference.model_store import load_card, resolve_model_dir

log = logging.getLogger(__name__)
CALIBRATION_CROPS = 1000  # Training crops whose activations set the int8 ranges
BATCH = 32  # crops per calibration call (x the TTA views): memory stays bounded
INT8_FILE = "model.int8.onnx"  # the int8 graph's name when it is written beside the float one


def float_weights(model: Any) -> Any:
    """The model with float16-stored weights (export --half: fp16 initializer -> Cast) folded back to float32.

    The quantizer finds a layer's weights only among the initializers, not behind a Cast node.
    """
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    keep, folded = [], []
    for node in graph.node:
        source = inits.get(node.input[0]) if node.op_type == "Cast" and node.input else None
        if source is not None and source.data_type == TensorProto.FLOAT16:
            to = next(a.i for a in node.attribute if a.name == "to")
            if to == TensorProto.FLOAT:
                folded.append(numpy_helper.from_array(numpy_helper.to_array(source).astype(np.float32), node.output[0]))
                continue
        keep.append(node)
    used = {name for node in keep for name in node.input}
    rest = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(keep)
    del graph.initializer[:]
    graph.initializer.extend(rest + folded)
    return model


def calibration_batches(images: Any, card: ModelCard, input_name: str, batch: int = BATCH) -> Iterator[dict]:
    """{input: views} feeds of `batch` crops each, preprocessed and TTA-viewed as the runtime does."""
    for i in range(0, len(images), batch):
        views = tta_views(preprocess(images[i : i + batch], card), card.tta)
        yield {input_name: np.concatenate(views)}


def training_sample(train: Split, n: int, seed: int = 0) -> np.ndarray:
    """A fixed random sample of `n` Training crops (uint8), in dataset order."""
    if len(train) == 0:
        raise DataError("the Training split is empty: int8 calibration needs Training crops")
    pick = np.sort(np.random.default_rng(seed).choice(len(train), min(n, len(train)), replace=False))
    return np.stack([train.images[int(i)] for i in pick])


def quantize_onnx(src: Path, dst: Path, card: ModelCard, images: Any, **options: Any) -> None:
    """Write the static int8 (QDQ, per-channel int8 weights, uint8 activations) version of `src` to `dst`,
    calibrated on `images` fed as the runtime feeds faces. `options` override quantize_static's arguments."""
    import onnx

    model = float_weights(onnx.load(str(src)))
    quantize_graph(model, dst, calibration_batches(images, card, model.graph.input[0].name), **options)


def quantize_graph(model: Any, dst: Path, feeds: Iterator[dict], **options: Any) -> None:
    """Any float ONNX model (a ModelProto) -> its static int8 version at `dst`, ranges from `feeds`.

    The settings every int8 model of ours gets (classifiers, and the detectors scripts/quantize_detector.py
    measures); `options` override quantize_static's arguments."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict | None:
            return next(feeds, None)

    with tempfile.TemporaryDirectory(prefix="emolens-int8-") as tmp:
        plain, prepared = Path(tmp) / "float.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(model, str(plain))
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(dst),
            Reader(),
            **{
                "quant_format": QuantFormat.QDQ,
                "per_channel": True,
                "activation_type": QuantType.QUInt8,
                "weight_type": QuantType.QInt8,
                "reduce_range": True,  # 7-bit weights: no int16 overflow in AVX2's u8 x s8 products (no VNNI)
                "calibrate_method": CalibrationMethod.MinMax,
                **options,
            },
        )


def compare(float_dir: Path, int8_dir: Path, split: Split, limit: int = 0) -> dict[str, Any]:
    """Top-1 agreement of the int8 model with the float one on `split` (a fixed sample of `limit`), both accuracies."""
    if 0 < limit < len(split):
        split = split.subset(np.sort(np.random.default_rng(0).choice(len(split), limit, replace=False)))
    ref, info = model_logits(float_dir, split, precision="float")
    got, _ = model_logits(int8_dir, split)  # auto: the int8 graph, beside the float one or on its own
    names = tuple(info["labels"])
    acc = {
        k: classification_metrics(softmax(x), split.labels, names)["accuracy"]
        for k, x in (("float", ref), ("int8", got))
    }
    return {
        "split": split.name,
        "n": len(split),
        "agreement": round(float((ref.argmax(1) == got.argmax(1)).mean()), 4),
        "accuracy_float": round(acc["float"], 4),
        "accuracy_int8": round(acc["int8"], 4),
    }


def _read_splits(data: str | Path, wanted: tuple[str, ...], layout: str, label_map) -> dict[str, Split]:
    """The Training split (required) and the comparison split when the dataset has it; nothing else is decoded."""
    try:
        return read_dataset(data, layout, splits=wanted, label_map=label_map)
    except DataError:
        if len(wanted) == 1:
            raise
    try:
        return read_dataset(data, layout, splits=wanted[:1], label_map=label_map)
    except DataError as exc:
        raise DataError(f"{exc}: int8 calibration needs Training crops") from None


def quantize_model(
    model: str | Path,
    out: str | Path,
    data: str | Path,
    *,
    crops: int = CALIBRATION_CROPS,
    layout: str = "auto",
    label_map=None,
    split: str | None = "test",
    limit: int = 0,
    name: str | None = None,
) -> ModelCard:
    """Exported float model (folder, .onnx beside its card, or a shipped name) -> int8 model.onnx + card.json in `out`.

    With `out` the model's own folder, the int8 graph is written beside the float one (model.int8.onnx) and
    the card names both (`int8_file`): the runtime then reads with int8 while training, fine-tuning and
    teachers keep the float graph. The card's temperature is then refitted on `split` for the int8 graph
    (as `emolens export` fits it), so its metrics describe what the runtime reads.
    `split` (None: skip) is the validation split the int8 model is compared on with the float one (`limit`:
    a fixed random sample of that many crops, 0: all); a dataset without it is not compared.
    """
    src_dir = resolve_model_dir(model)
    card = load_card(src_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    beside = out.resolve() == src_dir.resolve()  # the int8 graph joins the float one in the model's own folder
    dst = out / (INT8_FILE if beside else "model.onnx")
    splits = _read_splits(data, ("train", split) if split and split != "train" else ("train",), layout, label_map)
    images = training_sample(splits["train"], crops)
    log.info("calibrating int8 ranges on %d Training crops of %s", len(images), data)
    quantize_onnx(src_dir / card.onnx_file, dst, card, images)
    metrics: dict[str, Any] = {
        "calibration_crops": len(images),
        "format": "QDQ, per-channel s8 weights, u8 activations",
    }
    if beside:
        int8_card = card.with_(int8_file=INT8_FILE, int8_sha256=sha256_file(dst))
    else:
        int8_card = card.float_only().with_(
            name=name or card.name, onnx_file="model.onnx", onnx_sha256=sha256_file(dst)
        )
    int8_card = int8_card.with_(metrics={**card.metrics, "int8": metrics})
    int8_card.save(out / "card.json")
    if split and split not in splits:
        log.warning("%s has no %s split: the int8 model is not compared with the float one", data, split)
    elif split:
        metrics.update(compare(src_dir, out, splits[split], limit))
        log.info("int8 vs float on %s: %s", split, metrics)
        int8_card = int8_card.with_(metrics={**card.metrics, "int8": metrics})
        int8_card.save(out / "card.json")
        if beside:  # the card's temperature and metrics now describe the graph that reads faces: refit them
            from emolens.train.export import calibrate_card

            int8_card = calibrate_card(out / INT8_FILE, int8_card, data, split, layout=layout, label_map=label_map)
            int8_card.save(out / "card.json")
    return int8_card

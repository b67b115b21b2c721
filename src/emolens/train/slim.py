"""A cheaper network cut out of an exported model: one member of an ensemble, with fewer channels.

Why: the shipped `default` is two w48 VGGs (read with four views until session 18: ~40 ms per face on one thread),
ten times the 4 ms budget, and training a mid-size network from scratch with the real-faces recipe
costs days of this project's CPU. A member of the ensemble, thinned by dropping the channels that
carry the least signal, starts close to its parent, so a short distillation from the parent (an
online teacher, `teacher_online`) can recover what the cut lost.

Works on the graphs our exporter writes for plain conv chains (VGG: Conv -> Relu [-> MaxPool] ...
-> global pool -> MatMul/Gemm, batch norm folded). Needs the [train] extra's `onnx`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emolens.core.card import ModelCard, sha256_file

log = logging.getLogger(__name__)
PASS_THROUGH = {"Relu", "MaxPool", "AveragePool"}  # channel-wise: a channel in is the same channel out
HEAD_POOL = {"ReduceMean", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "MaxPool", "AveragePool", "Relu"}


def member(model: Any, k: int) -> Any:
    """Member `k` of an ensemble graph (logits = ReduceMean(Concat(Unsqueeze(member logits)))) as its own graph."""
    from onnx import shape_inference, utils

    model = shape_inference.infer_shapes(model)  # the extractor needs every tensor's type
    graph = model.graph
    out_name = graph.output[0].name
    producers = {o: n for n in graph.node for o in n.output}
    mean = producers.get(out_name)
    concat = producers.get(mean.input[0]) if mean is not None and mean.op_type == "ReduceMean" else None
    if concat is None or concat.op_type != "Concat":
        raise ValueError("not an ensemble graph: its logits are not the mean of its members' logits")
    if not 0 <= k < len(concat.input):
        raise ValueError(f"member {k} does not exist: the ensemble has {len(concat.input)} members (0-based)")
    unsqueeze = producers[concat.input[k]]
    member_out = unsqueeze.input[0]
    sub = utils.Extractor(model).extract_model([i.name for i in graph.input], [member_out])
    for node in sub.graph.node:
        node.output[:] = [out_name if o == member_out else o for o in node.output]
    sub.graph.output[0].name = out_name
    return sub


@dataclass(frozen=True)
class Layer:
    """One Conv of the chain and where its output channels are read next (a Conv, or the head's matrix)."""

    conv: Any
    consumer: Any
    consumer_axis: int  # the axis of the consumer's weight that indexes this conv's channels


def conv_chain(model: Any) -> list[Layer]:
    """The Convs in order, each with its consumer; raises ValueError for a graph that is not a plain chain."""
    graph = model.graph
    users: dict[str, list[Any]] = {}
    for n in graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    inits = {i.name for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    if not convs:
        raise ValueError("no Conv in the graph: nothing to thin")
    layers = []
    for conv in convs:
        group = next((a.i for a in conv.attribute if a.name == "group"), 1)
        if group != 1 or conv.input[1] not in inits:
            raise ValueError(f"{conv.name or conv.output[0]}: only plain convs with stored weights can be thinned")
        name, passed = conv.output[0], []
        while True:
            nxt = users.get(name, [])
            if len(nxt) != 1:
                raise ValueError(f"{name} feeds {len(nxt)} nodes: not a plain chain")
            node = nxt[0]
            if node.op_type == "Conv":
                layers.append(Layer(conv, node, 1))
                break
            if node.op_type in ("MatMul", "Gemm"):
                if not all(p in HEAD_POOL for p in passed) or node.input[1] not in inits:
                    raise ValueError("the head must be a global pool then a matrix of stored weights")
                trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
                layers.append(Layer(conv, node, 1 if node.op_type == "Gemm" and trans_b else 0))
                break
            if node.op_type not in PASS_THROUGH | HEAD_POOL:
                raise ValueError(f"{node.op_type} after {conv.output[0]}: only channel-wise ops can sit between convs")
            passed.append(node.op_type)
            name = node.output[0]
    return layers


def channel_importance(model: Any, layers: list[Layer], feeds: Iterator[dict]) -> list[np.ndarray]:
    """Per conv, per output channel: mean ReLU activation on the crops x the L2 norm of its consumer's weights.

    A channel that is rarely on, or whose signal the next layer barely reads, costs compute for little.
    Scale-invariant across the ReLU: scaling a channel's filter up and its consumer down changes nothing.
    """
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    probe = type(model)()
    probe.CopyFrom(model)
    for layer in layers:
        probe.graph.output.append(helper.make_empty_tensor_value_info(layer.conv.output[0]))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the conv outputs visible
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [layer.conv.output[0] for layer in layers]
    sums, n = [0.0] * len(layers), 0
    for feed in feeds:
        outs = sess.run(names, feed)
        for i, o in enumerate(outs):  # (B, C, H, W)
            sums[i] = sums[i] + np.maximum(o, 0).mean(axis=(2, 3)).sum(0)
        n += len(outs[0])
    if n == 0:
        raise ValueError("no crops to measure the channels on")
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    scores = []
    for layer, s in zip(layers, sums):
        w = inits[layer.consumer.input[1]]
        other = tuple(a for a in range(w.ndim) if a != layer.consumer_axis)
        scores.append((s / n) * np.sqrt((w.astype(np.float64) ** 2).sum(axis=other)))
    return scores


def thin(model: Any, layers: list[Layer], scores: list[np.ndarray], fraction: float, multiple: int = 8) -> Any:
    """A copy of `model` keeping the top `fraction` of each conv's channels (rounded to `multiple`), in order."""
    from onnx import numpy_helper, shape_inference

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    out = type(model)()
    out.CopyFrom(model)
    inits = {i.name: i for i in out.graph.initializer}
    arrays = {k: numpy_helper.to_array(v) for k, v in inits.items()}
    for layer, score in zip(layers, scores):
        c = len(score)
        k = min(c, max(multiple, int(round(c * fraction / multiple)) * multiple))
        keep = np.sort(np.argsort(-score, kind="stable")[:k])
        for name, axis in [(layer.conv.input[1], 0), (layer.consumer.input[1], layer.consumer_axis)] + (
            [(layer.conv.input[2], 0)] if len(layer.conv.input) > 2 and layer.conv.input[2] else []
        ):
            arrays[name] = np.take(arrays[name], keep, axis=axis)
        log.info("%s: %d -> %d channels", layer.conv.output[0], c, k)
    for name, init in inits.items():
        init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arrays[name]), name))
    del out.graph.value_info[:]
    return shape_inference.infer_shapes(out, strict_mode=True)


def slim_model(
    model: str | Path,
    out: str | Path,
    images: np.ndarray,
    *,
    member_index: int | None = None,
    fraction: float = 1.0,
    multiple: int = 8,
    tta: tuple[str, ...] | None = None,
    calibrate: str | Path | None = None,
) -> ModelCard:
    """Exported model -> model.onnx + card.json in `out`: one member (ensembles), thinned to `fraction` width.

    Channel counts are rounded to a `multiple` (8: one AVX2 register of floats; 36 channels run hardly faster
    than 48 on ONNX Runtime's CPU kernels, 32 do).

    The card keeps the parent's preprocessing; its metrics are emptied (the result is a starting point for
    `emolens train` with `model: onnx`, which measures, calibrates and exports it again). With `calibrate`
    (a dataset), a temperature is fitted on its validation split as `emolens export` does, for a cut
    that is used as it is.
    """
    import onnx

    from emolens.inference.model_store import load_card, resolve_model_dir
    from emolens.train.quantize import calibration_batches, float_weights

    src = resolve_model_dir(model)
    card = load_card(src)
    graph = float_weights(onnx.load(str(src / card.onnx_file)))
    what = []
    if member_index is not None:
        graph = member(graph, member_index)
        what.append(f"member {member_index}")
    if fraction < 1:
        layers = conv_chain(graph)
        feeds = calibration_batches(images, card.with_(tta=()), graph.graph.input[0].name)  # one view per crop
        graph = thin(graph, layers, channel_importance(graph, layers, feeds), fraction, multiple)
        what.append(f"{fraction:g} of the channels")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dst = out / "model.onnx"
    onnx.checker.check_model(graph)
    onnx.save(graph, str(dst))
    slim = card.float_only().with_(
        name=out.name,
        arch=f"{card.arch}: {', '.join(what) or 'copy'}",
        onnx_file="model.onnx",
        onnx_sha256=sha256_file(dst),
        tta=card.tta if tta is None else tta,
        temperature=1.0,
        metrics={},
    )
    if calibrate is not None:
        from emolens.train.export import calibrate_card

        slim = calibrate_card(dst, slim, calibrate, "test")  # as `emolens export` fits one
    slim.save(out / "card.json")
    return slim

"""An exported emolens ONNX graph run by torch: the shipped model as a teacher or a starting point.

Why our own: the shipped `default` has no training run, only model.onnx. Distillation and
fine-tuning need it as a torch module. General converters pull in torchvision, which does not
import beside this project's CPU torch, so this interprets the small set of operators our
exporter writes (VGG / ResNet graphs, ensembles, resized members, float16-stored weights).
The graph's weights become torch parameters (frozen by default), so the module can also train.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pads(a: dict[str, Any], dims: int = 2) -> list[int]:
    pads = list(a.get("pads", [0] * (2 * dims)))
    return pads[:dims]  # symmetric padding is all our exporter writes


def _conv(x, w, b=None, **a):
    if list(a.get("pads", [0, 0, 0, 0]))[:2] != list(a.get("pads", [0, 0, 0, 0]))[2:]:
        raise ValueError("asymmetric Conv padding is not supported")
    return F.conv2d(
        x,
        w,
        b,
        stride=a.get("strides", [1, 1]),
        padding=_pads(a),
        dilation=a.get("dilations", [1, 1]),
        groups=a.get("group", 1),
    )


def _gemm(a_, b_, c=None, **a):
    a_ = a_.transpose(-1, -2) if a.get("transA", 0) else a_
    b_ = b_.transpose(-1, -2) if a.get("transB", 0) else b_
    y = a.get("alpha", 1.0) * (a_ @ b_)
    return y + a.get("beta", 1.0) * c if c is not None else y


def _reduce_mean(x, axes_in=None, **a):
    axes = a.get("axes") if axes_in is None else [int(v) for v in axes_in.tolist()]
    return x.mean(dim=tuple(axes), keepdim=bool(a.get("keepdims", 1))) if axes else x.mean()


def _unsqueeze(x, axes_in=None, **a):
    for ax in sorted(a.get("axes") if axes_in is None else [int(v) for v in axes_in.tolist()]):
        x = x.unsqueeze(ax)
    return x


OPS: dict[str, Callable[..., torch.Tensor]] = {
    "Conv": _conv,
    "Relu": lambda x, **a: F.relu(x),
    "Sigmoid": lambda x, **a: torch.sigmoid(x),
    "BatchNormalization": lambda x, g, b, m, v, **a: F.batch_norm(x, m, v, g, b, False, 0.0, a.get("epsilon", 1e-5)),
    "MaxPool": lambda x, **a: F.max_pool2d(x, a["kernel_shape"], a.get("strides", a["kernel_shape"]), _pads(a)),
    "AveragePool": lambda x, **a: F.avg_pool2d(x, a["kernel_shape"], a.get("strides", a["kernel_shape"]), _pads(a)),
    "GlobalAveragePool": lambda x, **a: x.mean(dim=(2, 3), keepdim=True),
    "Flatten": lambda x, **a: x.flatten(a.get("axis", 1)),
    "Gemm": _gemm,
    "MatMul": lambda x, y, **a: x @ y,
    "Add": lambda x, y, **a: x + y,
    "Sub": lambda x, y, **a: x - y,
    "Mul": lambda x, y, **a: x * y,
    "Div": lambda x, y, **a: x / y,
    "Concat": lambda *xs, **a: torch.cat(xs, dim=a["axis"]),
    "ReduceMean": _reduce_mean,
    "Unsqueeze": _unsqueeze,
    "Transpose": lambda x, **a: x.permute(*a["perm"]),
    "Reshape": lambda x, s, **a: x.reshape([int(v) for v in s.tolist()]),
    "Identity": lambda x, **a: x,
    "Cast": lambda x, **a: x.float() if a.get("to", 1) in (1, 10, 11) else x.long(),
    "Softmax": lambda x, **a: torch.softmax(x, dim=a.get("axis", -1)),
}


class OnnxModule(nn.Module):
    """forward(input) -> the graph's first output; weights are parameters named w0, w1, ..."""

    def __init__(self, path: str | Path, trainable: bool = False):
        super().__init__()
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        g = model.graph
        self.input_name, self.output_name = g.input[0].name, g.output[0].name
        self.weights = nn.ParameterList()
        self._index: dict[str, int] = {}
        for init in g.initializer:
            arr = numpy_helper.to_array(init)
            floating = np.issubdtype(arr.dtype, np.floating)
            t = torch.from_numpy(arr.astype(np.float32) if floating else arr.astype(np.int64))
            self._index[init.name] = len(self.weights)
            self.weights.append(nn.Parameter(t, requires_grad=trainable and floating))
        self.nodes: list[tuple[str, list[str], list[str], dict[str, Any]]] = []
        for node in g.node:
            if node.op_type == "Constant":
                value = numpy_helper.to_array(_attrs(node)["value"])
                t = torch.from_numpy(
                    value.astype(np.float32) if np.issubdtype(value.dtype, np.floating) else value.astype(np.int64)
                )
                self._index[node.output[0]] = len(self.weights)
                self.weights.append(nn.Parameter(t, requires_grad=False))
                continue
            if node.op_type not in OPS:
                raise ValueError(f"{path}: operator {node.op_type} is not supported by emolens' ONNX-to-torch runner")
            self.nodes.append((node.op_type, list(node.input), list(node.output), _attrs(node)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, S, S) normalised -> (B, K) logits
        env: dict[str, torch.Tensor] = {self.input_name: x}
        for name, i in self._index.items():
            env[name] = self.weights[i]
        for op, inputs, outputs, attrs in self.nodes:
            args = [env[n] if n else None for n in inputs]
            env[outputs[0]] = OPS[op](*args, **attrs)
        return env[self.output_name]


def onnx_module(path: str | Path, trainable: bool = False) -> nn.Module:
    """An exported emolens classifier as an eval-mode torch module (weights frozen unless `trainable`)."""
    return OnnxModule(path, trainable=trainable).eval()

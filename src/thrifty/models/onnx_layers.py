"""Torch layers for the ONNX nodes that have them, so that Torch-Pruning can see and shrink them.

A node becomes a layer when its weights are constants of the graph (initializers, Constant
nodes, or either through Identity nodes):

- ``Gemm`` (plain: no transposed input, alpha and beta 1, a 1-D bias) and ``MatMul`` by a 2-D
  weight: ``nn.Linear``; a weight stored as (in, out) is transposed here and back on writing;
- ``Conv`` and ``ConvTranspose``, any rank and group count: ``nn.ConvNd`` /
  ``nn.ConvTransposeNd`` (depthwise is ``groups == channels``);
- ``BatchNormalization`` of an input of known rank: ``nn.BatchNormNd``, its mean and variance
  the running statistics;
- ``LayerNormalization`` with a constant scale over the trailing axes: ``nn.LayerNorm``.

Every other node, and these when they do not fit, runs as a function (:mod:`onnx_ops`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from thrifty.models.onnx_spatial import pads_for, symmetric

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
CONV_TRANSPOSES = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
BATCH_NORMS = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


@dataclass(frozen=True)
class Binding:
    """What ties a layer to its node, for running it and for writing its weights back."""

    tensors: dict[str, tuple[int, bool]]  # the module's tensor -> (node input, stored transposed)
    attributes: dict[str, str] = field(default_factory=dict)  # ONNX attribute -> the module's
    padded: bool = False  # the input is padded before the layer (pads torch cannot take)


def layer(node, a: dict, constants: dict[str, np.ndarray], rank: int | None):
    """``(module, binding)`` for ``node`` (its attributes ``a``), or None when it runs as a
    function."""
    build = BUILDERS.get(node.op_type)
    if build is None or not node.input or node.input[0] in constants:
        return None
    weights = [constants.get(name) for name in node.input[1:] if name]
    if len(weights) < len(node.input) - 1 or any(w is None for w in weights):
        return None  # a weight computed by the graph, or an omitted input before a given one
    if not weights or not np.issubdtype(weights[0].dtype, np.floating):
        return None
    found = build(a, weights, rank)
    if found is None:
        return None
    module, binding = found
    with torch.no_grad():
        for attribute, (position, transposed) in binding.tensors.items():
            value = torch.from_numpy(np.array(weights[position - 1], copy=True))
            getattr(module, attribute).copy_(value.T if transposed else value)
    return module, binding


def _gemm(a, weights, rank):
    w, bias = (weights + [None])[:2]
    if (
        a.get("transA")
        or a.get("alpha", 1.0) != 1.0
        or a.get("beta", 1.0) != 1.0
        or w.ndim != 2
        or (bias is not None and bias.shape != (w.shape[0 if a.get("transB") else 1],))
    ):
        return None
    transposed = not a.get("transB")
    outputs, inputs = w.shape[::-1] if transposed else w.shape
    tensors = {"weight": (1, transposed)} | ({"bias": (2, False)} if bias is not None else {})
    return nn.Linear(inputs, outputs, bias=bias is not None), Binding(tensors)


def _matmul(a, weights, rank):
    (w,) = weights
    if w.ndim != 2:
        return None
    return nn.Linear(*w.shape, bias=False), Binding({"weight": (1, True)})


def _conv(a, weights, rank):
    w, bias = (weights + [None])[:2]
    dims = w.ndim - 2
    if not 1 <= dims <= 3:
        return None
    groups = a.get("group", 1)
    strides, dilations = a.get("strides", [1] * dims), a.get("dilations", [1] * dims)
    padding = None
    if a.get("auto_pad", "NOTSET") in ("NOTSET", "VALID"):
        padding = symmetric(pads_for(a, (), w.shape[2:], strides, dilations))
    module = CONVS[dims - 1](
        w.shape[1] * groups,
        w.shape[0],
        w.shape[2:],
        stride=strides,
        padding=padding or 0,
        dilation=dilations,
        groups=groups,
        bias=bias is not None,
    )
    tensors = {"weight": (1, False)} | ({"bias": (2, False)} if bias is not None else {})
    return module, Binding(tensors, {"group": "groups"}, padded=padding is None)


def _conv_transpose(a, weights, rank):
    w, bias = (weights + [None])[:2]
    dims = w.ndim - 2
    pads = a.get("pads", [0] * 2 * dims)
    padding = symmetric(pads)
    if not 1 <= dims <= 3 or padding is None:
        return None
    groups = a.get("group", 1)
    module = CONV_TRANSPOSES[dims - 1](
        w.shape[0],
        w.shape[1] * groups,
        w.shape[2:],
        stride=a.get("strides", [1] * dims),
        padding=padding,
        output_padding=a.get("output_padding", [0] * dims),
        groups=groups,
        bias=bias is not None,
        dilation=a.get("dilations", [1] * dims),
    )
    tensors = {"weight": (1, False)} | ({"bias": (2, False)} if bias is not None else {})
    return module, Binding(tensors, {"group": "groups"})


def _batch_norm(a, weights, rank):
    if rank not in BATCH_NORMS:
        return None
    module = BATCH_NORMS[rank](
        len(weights[0]), eps=a.get("epsilon", 1e-5), momentum=1 - a.get("momentum", 0.9)
    )
    names = ("weight", "bias", "running_mean", "running_var")
    return module, Binding({name: (i + 1, False) for i, name in enumerate(names)})


def _layer_norm(a, weights, rank):
    scale, bias = (weights + [None])[:2]
    axis = a.get("axis", -1)
    trailing = axis if axis < 0 or rank is None else axis - rank
    if trailing != -scale.ndim or a["outputs"] > 1:
        return None
    module = nn.LayerNorm(scale.shape, eps=a.get("epsilon", 1e-5), bias=bias is not None)
    tensors = {"weight": (1, False)} | ({"bias": (2, False)} if bias is not None else {})
    return module, Binding(tensors)


BUILDERS: dict[str, Callable] = {
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
}

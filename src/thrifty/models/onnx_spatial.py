"""ONNX convolution, pooling, padding (and Resize, from :mod:`onnx_resize`) as PyTorch functions.

ONNX pads each side of each axis on its own (``pads`` = every axis' begin, then every end) or
computes it from the input (``auto_pad`` SAME_UPPER, SAME_LOWER); torch layers pad both sides
alike. Symmetric padding goes to torch; any other is applied first with ``F.pad``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from thrifty.models.onnx_ops import ints
from thrifty.models.onnx_resize import resize

CONVS = (F.conv1d, F.conv2d, F.conv3d)
CONV_TRANSPOSES = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)
MAX_POOLS = (F.max_pool1d, F.max_pool2d, F.max_pool3d)
AVG_POOLS = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)
PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def pads_for(a, sizes, kernel, strides, dilations) -> list[int]:
    """The node's pads, [begin of each axis..., end of each axis...], for these input sizes."""
    mode = a.get("auto_pad", "NOTSET")
    if mode == "NOTSET":
        return list(a.get("pads", [0] * 2 * len(kernel)))
    if mode == "VALID":
        return [0] * 2 * len(kernel)
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2  # the extra one at the end for SAME_UPPER
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins + ends


def symmetric(pads: list[int], kernel=None) -> tuple[int, ...] | None:
    """Torch's ``padding`` for these pads, or None when torch cannot take them (pools also
    refuse padding over half the kernel)."""
    half = len(pads) // 2
    if pads[:half] != pads[half:] or any(p < 0 for p in pads):
        return None
    if kernel is not None and any(p > k // 2 for p, k in zip(pads, kernel, strict=False)):
        return None
    return tuple(pads[:half])


def torch_pads(pads: list[int]) -> list[int]:
    """ONNX pads in ``F.pad``'s order: the last axis first, each as (begin, end)."""
    half = len(pads) // 2
    return [p for axis in reversed(range(half)) for p in (pads[axis], pads[axis + half])]


def padded(x, pads: list[int], value: float = 0.0, kernel=None):
    """``x`` and the ``padding`` to give torch: pads it takes, or ``x`` padded first and 0."""
    padding = symmetric(pads, kernel)
    if padding is not None:
        return x, padding
    return F.pad(x, torch_pads(pads), value=value), (0,) * (len(pads) // 2)


def pad_input(a, x, layer):
    """The input of a convolution layer that pads nothing itself, padded as its node says."""
    return F.pad(
        x, torch_pads(pads_for(a, x.shape[2:], layer.kernel_size, layer.stride, layer.dilation))
    )


def _window(a, x, kernel):
    dims = len(kernel)
    strides, dilations = a.get("strides", [1] * dims), a.get("dilations", [1] * dims)
    return strides, dilations, pads_for(a, x.shape[2:], kernel, strides, dilations)


def _conv(a, x, w, b=None):
    strides, dilations, pads = _window(a, x, w.shape[2:])
    x, padding = padded(x, pads)
    return CONVS[w.dim() - 3](x, w, b, strides, padding, dilations, a.get("group", 1))


def _conv_transpose(a, x, w, b=None):
    """Explicit pads only (``auto_pad`` SAME and ``output_shape`` are refused up front): they
    crop the output, each side by its own amount."""
    dims = w.dim() - 2
    pads = list(a.get("pads", [0] * 2 * dims))
    padding = symmetric(pads) or (0,) * dims
    out = CONV_TRANSPOSES[dims - 1](
        x,
        w,
        b,
        a.get("strides", [1] * dims),
        padding,
        a.get("output_padding", [0] * dims),
        a.get("group", 1),
        a.get("dilations", [1] * dims),
    )
    if symmetric(pads) is not None:
        return out
    crop = [slice(p, out.shape[2 + i] - pads[dims + i]) for i, p in enumerate(pads[:dims])]
    return out[(slice(None), slice(None), *crop)]


def _max_pool(a, x):
    kernel = a["kernel_shape"]
    strides, dilations, pads = _window(a, x, kernel)
    x, padding = padded(x, pads, -math.inf, kernel)
    pool = MAX_POOLS[len(kernel) - 1]
    return pool(x, kernel, strides, padding, dilations, ceil_mode=bool(a.get("ceil_mode")))


def _average_pool(a, x):
    """Pads torch cannot take are applied first; without ``count_include_pad`` the sums are
    then divided by the share of each window that is the input."""
    kernel = a["kernel_shape"]
    strides, _, pads = _window(a, x, kernel)
    pool = AVG_POOLS[len(kernel) - 1]
    include = bool(a.get("count_include_pad"))
    ceil = bool(a.get("ceil_mode"))
    padding = symmetric(pads, kernel)
    if padding is not None:
        return pool(x, kernel, strides, padding, ceil, count_include_pad=include)
    mean = pool(F.pad(x, torch_pads(pads)), kernel, strides, 0, ceil)
    if include:
        return mean
    inside = F.pad(torch.ones_like(x[:1, :1]), torch_pads(pads))
    return mean / pool(inside, kernel, strides, 0, ceil)


def _pad(a, x, pads=None, value=None, axes=None):
    """Pads from the input (opset 11) or the attribute; ``axes`` (opset 18) picks the axes."""
    pads = ints(pads) if pads is not None else a["pads"]
    value = a.get("value", 0.0) if value is None or value.numel() == 0 else value.item()
    axes = [v % x.dim() for v in ints(axes)] if axes is not None else range(x.dim())
    full = [0] * 2 * x.dim()
    for i, axis in enumerate(axes):
        full[axis], full[axis + x.dim()] = pads[i], pads[i + len(pads) // 2]
    order = torch_pads(full)
    while order and order[-2:] == [0, 0]:  # torch pads only the trailing axes in most modes
        order = order[:-2]
    mode = PAD_MODES[a.get("mode", "constant")]
    return F.pad(x, order, mode=mode, value=value if mode == "constant" else None)


SPATIAL: dict[str, Callable] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": lambda a, x: x.mean(tuple(range(2, x.dim())), keepdim=True),
    "GlobalMaxPool": lambda a, x: x.amax(tuple(range(2, x.dim())), keepdim=True),
    "Pad": _pad,
    "Resize": resize,
}

"""ONNX Resize in PyTorch, one axis at a time, by the formulas of the ONNX specification.

``F.interpolate`` covers a few of ONNX's combinations of coordinate mapping and rounding (torch
has no ``asymmetric`` linear, and its ``nearest-exact`` rounds ties up where ONNX's default rounds
them down), so each resized axis is computed directly: every output position maps to a source
coordinate (``coordinate_transformation_mode``), which is read from the nearest input, or the
two (linear) or four (cubic) around it, weighted. The modes refused up front (``antialias``,
``tf_crop_and_resize``) are listed in ``onnx_torch.LIMITS``.
"""

from __future__ import annotations

import math

import torch

NEAREST = {
    "round_prefer_floor": lambda c: torch.ceil(c - 0.5),
    "round_prefer_ceil": lambda c: torch.floor(c + 0.5),
    "floor": torch.floor,
    "ceil": torch.ceil,
}


def resize(a, x, roi=None, scales=None, sizes=None):
    if a["opset"] < 11:  # Resize-10 takes (X, scales)
        roi, scales = None, roi
    axes = [v % x.dim() for v in a.get("axes", range(x.dim()))]
    inputs = [x.shape[axis] for axis in axes]
    if sizes is not None and sizes.numel():
        outputs = [int(v) for v in sizes.tolist()]
        factors = [o / i for o, i in zip(outputs, inputs, strict=True)]
        policy = a.get("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            factor = (min if policy == "not_larger" else max)(factors)
            factors = [factor] * len(axes)
            outputs = [math.floor(factor * i + 0.5) for i in inputs]
    else:
        factors = [float(v) for v in scales.tolist()]
        outputs = [math.floor(i * f) for i, f in zip(inputs, factors, strict=True)]
    for axis, size, out, factor in zip(axes, inputs, outputs, factors, strict=True):
        if out != size or factor != 1:
            x = _resize_axis(a, x, axis, out, factor)
    return x


def _resize_axis(a, x, axis: int, out: int, factor: float):
    size = x.shape[axis]
    where = _source(a, torch.arange(out, dtype=torch.float64), size, out, factor)
    mode = a.get("mode", "nearest")
    if mode == "nearest":
        index = NEAREST[a.get("nearest_mode", "round_prefer_floor")](where).long()
        return x.index_select(axis, index.clamp(0, size - 1).to(x.device))
    if mode == "linear":
        where = where.clamp(0, size - 1)
        low = where.floor()
        taps = [(low, 1 - (where - low)), (low + 1, where - low)]
    else:
        taps = _cubic(a, where, size)
    shape = [1] * x.dim()
    shape[axis] = out
    total = 0
    for index, weight in taps:
        picked = x.index_select(axis, index.long().clamp(0, size - 1).to(x.device))
        total = total + picked * weight.reshape(shape).to(x.dtype).to(x.device)
    return total


def _source(a, o, size: int, out: int, factor: float):
    """Each output position's coordinate in the input."""
    mode = a.get("coordinate_transformation_mode", "half_pixel")
    if mode == "asymmetric":
        return o / factor
    if mode == "align_corners":
        return o * (size - 1) / (out - 1) if out > 1 else torch.zeros_like(o)
    if mode == "pytorch_half_pixel" and out == 1:
        return torch.zeros_like(o)
    where = (o + 0.5) / factor - 0.5
    if mode == "half_pixel_symmetric":
        return where + size / 2 * (1 - out / (factor * size))
    return where  # half_pixel, pytorch_half_pixel


def _cubic(a, where, size: int):
    """Keys' cubic convolution with coefficient ``cubic_coeff_a``; with ``exclude_outside``
    the taps beyond the input get weight 0 and the rest are renormalised."""
    alpha = a.get("cubic_coeff_a", -0.75)
    low = where.floor()
    taps = []
    for offset in (-1, 0, 1, 2):
        index = low + offset
        t = (where - index).abs()
        weight = torch.where(
            t <= 1,
            (alpha + 2) * t**3 - (alpha + 3) * t**2 + 1,
            torch.where(t < 2, alpha * t**3 - 5 * alpha * t**2 + 8 * alpha * t - 4 * alpha, 0.0),
        )
        if a.get("exclude_outside"):
            weight = torch.where((index < 0) | (index > size - 1), 0.0, weight)
        taps.append((index, weight))
    if a.get("exclude_outside"):
        norm = sum(weight for _, weight in taps)
        taps = [(index, weight / norm) for index, weight in taps]
    return taps

"""ONNX operators as PyTorch functions: ``OPS[op_type](attributes, *inputs)``.

Each function takes the node's attributes (a dict, with ``opset`` and ``outputs``, how many
outputs the node names, added: Softmax and Split mean different things by them) and its inputs as
tensors, ``None`` for an omitted optional input. Where an opset moved an attribute to an input
(Clip's min and max at 11, Squeeze's and ReduceSum's axes at 13, Split's sizes at 13, the other
reductions' axes at 18, Pad's pads at 11, Slice's starts at 10), the function reads whichever the
node has. Convolution, pooling, padding and resizing are in :mod:`onnx_spatial`'s ``SPATIAL``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F


def ints(tensor) -> list[int]:
    """A tensor of indices or sizes (an ONNX shape input) as a Python list."""
    return [int(v) for v in tensor.reshape(-1).tolist()]


def torch_dtype(np_dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(1, dtype=np_dtype)).dtype


def _onnx_dtype(code: int) -> torch.dtype:
    from onnx import helper

    return torch_dtype(helper.tensor_dtype_to_np_dtype(code))


def _torch(name: str) -> Callable:
    function = getattr(torch, name)
    return lambda a, *xs: function(*xs)


def _variadic(name: str) -> Callable:
    function = getattr(torch, name)
    return lambda a, *xs: functools.reduce(function, xs)


def _div(a, x, y):
    """Integer division truncates, as in C (ONNX Runtime); torch.div would return floats."""
    if x.is_floating_point() or y.is_floating_point():
        return x / y
    return torch.div(x, y, rounding_mode="trunc")


def _mod(a, x, y):
    return torch.fmod(x, y) if a.get("fmod") else torch.remainder(x, y)


def _clip(a, x, low=None, high=None):
    low = a.get("min") if low is None else low  # attributes before opset 11, inputs since
    high = a.get("max") if high is None else high
    x = x if low is None else torch.clamp(x, min=low)
    return x if high is None else torch.clamp(x, max=high)


def _selu(a, x):
    alpha, gamma = a.get("alpha", 1.6732632423543772), a.get("gamma", 1.0507009873554805)
    return gamma * torch.where(x > 0, x, alpha * (torch.exp(x) - 1))


def _hard_sigmoid(a, x):
    return torch.clamp(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1)


def _softmax(kind: str) -> Callable:
    """Opset 13 normalises along one axis; before, over all axes from ``axis`` on (default 1)."""

    def run(a, x):
        if a["opset"] >= 13:
            return getattr(x, kind)(dim=a.get("axis", -1))
        axis = a.get("axis", 1) % max(1, x.dim())
        return getattr(x.reshape(*x.shape[:axis], -1), kind)(dim=-1).reshape(x.shape)

    return run


def _gemm(a, x, w, b=None):
    x = x.t() if a.get("transA") else x
    w = w.t() if a.get("transB") else w
    out = a.get("alpha", 1.0) * (x @ w)
    return out if b is None else out + a.get("beta", 1.0) * b


def _batch_norm(a, x, scale, bias, mean, var):
    return F.batch_norm(x, mean, var, scale, bias, training=False, eps=a.get("epsilon", 1e-5))


def _layer_norm(a, x, scale, bias=None):
    """Also the mean and inverse standard deviation, ONNX's optional second and third outputs."""
    axis = a.get("axis", -1) % x.dim()
    dims = tuple(range(axis, x.dim()))
    mean = x.mean(dims, keepdim=True)
    inverse = torch.rsqrt((x - mean).square().mean(dims, keepdim=True) + a.get("epsilon", 1e-5))
    y = (x - mean) * inverse * scale
    return (y if bias is None else y + bias), mean, inverse


def _instance_norm(a, x, scale, bias):
    return F.instance_norm(x, weight=scale, bias=bias, eps=a.get("epsilon", 1e-5))


REDUCTIONS: dict[str, Callable] = {
    "ReduceMean": lambda x, dims, keep: x.mean(dims, keepdim=keep),
    "ReduceSum": lambda x, dims, keep: x.sum(dims, keepdim=keep),
    "ReduceMax": lambda x, dims, keep: x.amax(dims, keepdim=keep),
    "ReduceMin": lambda x, dims, keep: x.amin(dims, keepdim=keep),
    "ReduceProd": lambda x, dims, keep: functools.reduce(
        lambda t, d: t.prod(d, keepdim=keep), sorted(dims, reverse=True), x
    ),
    "ReduceL1": lambda x, dims, keep: x.abs().sum(dims, keepdim=keep),
    "ReduceL2": lambda x, dims, keep: torch.linalg.vector_norm(x, 2, dims, keepdim=keep),
    "ReduceSumSquare": lambda x, dims, keep: x.square().sum(dims, keepdim=keep),
    "ReduceLogSum": lambda x, dims, keep: x.sum(dims, keepdim=keep).log(),
    "ReduceLogSumExp": lambda x, dims, keep: torch.logsumexp(x, dims, keepdim=keep),
}


def _reduce(kind: str) -> Callable:
    def run(a, x, axes=None):
        axes = ints(axes) if axes is not None else a.get("axes")  # an input from opset 13 or 18
        if not axes and a.get("noop_with_empty_axes"):
            return x
        dims = tuple(sorted(v % x.dim() for v in axes)) if axes else tuple(range(x.dim()))
        return REDUCTIONS[kind](x, dims, bool(a.get("keepdims", 1)))

    return run


def _arg(kind: str) -> Callable:
    def run(a, x):
        axis = a.get("axis", 0) % x.dim()
        keep = bool(a.get("keepdims", 1))
        if not a.get("select_last_index"):
            return getattr(x, kind)(dim=axis, keepdim=keep)
        return x.shape[axis] - 1 - getattr(x.flip(axis), kind)(dim=axis, keepdim=keep)

    return run


def _cum_sum(a, x, axis):
    axis = int(axis) % x.dim()
    x = x.flip(axis) if a.get("reverse") else x
    out = x.cumsum(axis)
    out = out - x if a.get("exclusive") else out
    return out.flip(axis) if a.get("reverse") else out


def _reshape(a, x, shape):
    target = ints(shape)
    if not a.get("allowzero"):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


def _flatten(a, x):
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), -1)


def _transpose(a, x):
    return x.permute(a.get("perm", list(range(x.dim()))[::-1]))


def _unsqueeze(a, x, axes=None):
    axes = ints(axes) if axes is not None else a["axes"]
    for axis in sorted(v % (x.dim() + len(axes)) for v in axes):
        x = x.unsqueeze(axis)
    return x


def _squeeze(a, x, axes=None):
    axes = ints(axes) if axes is not None else a.get("axes")
    return x.squeeze() if axes is None else x.squeeze(tuple(axes))


def _split(a, x, split=None):
    """Sizes from the input (opset 13), the attribute (before), or equal parts: as many as the
    node has outputs, or ``num_outputs`` (opset 18), the last part smaller if need be."""
    axis = a.get("axis", 0)
    sizes = ints(split) if split is not None else a.get("split")
    if not sizes:
        sizes = math.ceil(x.shape[axis] / a.get("num_outputs", a["outputs"]))
    return torch.split(x, sizes, dim=axis)


def _slice(a, x, starts=None, ends=None, axes=None, steps=None):
    """Inputs since opset 10, attributes before; negative steps walk backwards (torch slices
    cannot), each bound clamped as ONNX says."""
    starts = ints(starts) if starts is not None else a["starts"]
    ends = ints(ends) if ends is not None else a["ends"]
    axes = ints(axes) if axes is not None else a.get("axes", range(len(starts)))
    steps = ints(steps) if steps is not None else [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis, size = axis % x.dim(), x.shape[axis]
        start, end = _bound(start, size, step), _bound(end, size, step)
        if step > 0:
            x = x[(slice(None),) * axis + (slice(start, end, step),)]
        else:
            x = x.index_select(axis, torch.arange(start, end, step, device=x.device))
    return x


def _bound(value: int, size: int, step: int) -> int:
    value = value + size if value < 0 else value
    return min(max(value, 0), size) if step > 0 else min(max(value, -1), size - 1)


def _positive(index, size: int):
    """ONNX indices may count from the end; torch's may not."""
    return torch.where(index < 0, index + size, index).long()


def _gather(a, x, index):
    axis = a.get("axis", 0) % x.dim()
    flat = _positive(index.reshape(-1), x.shape[axis])
    return x.index_select(axis, flat).reshape((*x.shape[:axis], *index.shape, *x.shape[axis + 1 :]))


def _gather_elements(a, x, index):
    axis = a.get("axis", 0) % x.dim()
    return torch.gather(x, axis, _positive(index, x.shape[axis]))


def _expand(a, x, shape):
    """ONNX's Expand broadcasts both ways (a 1 in ``shape`` keeps the input's size)."""
    return x.expand(torch.broadcast_shapes(x.shape, tuple(ints(shape))))


def _constant_of_shape(a, shape):
    value = a.get("value", np.zeros(1, dtype=np.float32))
    dtype = torch_dtype(value.dtype)
    return torch.full(
        tuple(ints(shape)), value.reshape(-1)[0].item(), dtype=dtype, device=shape.device
    )


def _range(a, start, limit, delta):
    return torch.arange(
        start.item(), limit.item(), delta.item(), dtype=start.dtype, device=start.device
    )


def _shape(a, x):
    return torch.tensor(x.shape[a.get("start", 0) : a.get("end")], device=x.device)


def _concat(a, *xs):
    return torch.cat(xs, dim=a["axis"])


OPS: dict[str, Callable] = {
    "Gemm": _gemm,
    "MatMul": _torch("matmul"),
    "Einsum": lambda a, *xs: torch.einsum(a["equation"], *xs),
    "Add": _torch("add"),
    "Sub": _torch("sub"),
    "Mul": _torch("mul"),
    "Div": _div,
    "Mod": _mod,
    "Pow": lambda a, x, y: torch.pow(x, y).to(x.dtype),
    "Neg": _torch("neg"),
    "Abs": _torch("abs"),
    "Reciprocal": _torch("reciprocal"),
    "Sqrt": _torch("sqrt"),
    "Exp": _torch("exp"),
    "Log": _torch("log"),
    "Erf": _torch("erf"),
    "Sin": _torch("sin"),
    "Cos": _torch("cos"),
    "Floor": _torch("floor"),
    "Ceil": _torch("ceil"),
    "Round": _torch("round"),  # both round half to even
    "Sign": _torch("sign"),
    "Sum": _variadic("add"),
    "Max": _variadic("maximum"),
    "Min": _variadic("minimum"),
    "Mean": lambda a, *xs: functools.reduce(torch.add, xs) / len(xs),
    "Relu": _torch("relu"),
    "LeakyRelu": lambda a, x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "PRelu": lambda a, x, slope: torch.where(x < 0, x * slope, x),
    "Elu": lambda a, x: F.elu(x, a.get("alpha", 1.0)),
    "Celu": lambda a, x: F.celu(x, a.get("alpha", 1.0)),
    "Selu": _selu,
    "Sigmoid": _torch("sigmoid"),
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": lambda a, x: F.hardswish(x),
    "Tanh": _torch("tanh"),
    "Softplus": lambda a, x: F.softplus(x),
    "Softsign": lambda a, x: F.softsign(x),
    "Mish": lambda a, x: F.mish(x),
    "Gelu": lambda a, x: F.gelu(x, approximate=a.get("approximate", "none")),
    "Clip": _clip,
    "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"),
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "InstanceNormalization": _instance_norm,
    **{kind: _reduce(kind) for kind in REDUCTIONS},
    "ArgMax": _arg("argmax"),
    "ArgMin": _arg("argmin"),
    "CumSum": _cum_sum,
    "Equal": _torch("eq"),
    "Greater": _torch("gt"),
    "GreaterOrEqual": _torch("ge"),
    "Less": _torch("lt"),
    "LessOrEqual": _torch("le"),
    "Not": _torch("logical_not"),
    "And": _torch("logical_and"),
    "Or": _torch("logical_or"),
    "Xor": _torch("logical_xor"),
    "IsNaN": _torch("isnan"),
    "Where": _torch("where"),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Split": _split,
    "Slice": _slice,
    "Gather": _gather,
    "GatherElements": _gather_elements,
    "Expand": _expand,
    "Tile": lambda a, x, repeats: x.repeat(ints(repeats)),
    "NonZero": lambda a, x: torch.nonzero(x).t(),
    "Shape": _shape,
    "Size": lambda a, x: torch.tensor(x.numel(), device=x.device),
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Cast": lambda a, x: x.to(_onnx_dtype(a["to"])),
    "CastLike": lambda a, x, like: x.to(like.dtype),
    "Identity": lambda a, x: x,
    "Dropout": lambda a, x, *rest: x,
}

"""ONNX to a trainable ``torch.nn.Module``: the graph's weights become parameters, and the nodes
that the primary output needs run as PyTorch operations, in order.

Written here rather than taken from onnx2torch (DESIGN.md's choice) because onnx2torch imports
torchvision at load time, and no torchvision build matches the pinned torch==2.13.0 CPU wheel.
It covers the operators of feed-forward models (the zoo, scikit-learn's and Keras' exports);
any other operator is refused by name, before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from thrifty.errors import ModelError
from thrifty.models.model import Model


def to_torch(model: Model):
    """A module computing ``model``'s primary output; floating-point weights are parameters.

    Gemm and 2-D Conv nodes with their weights in the graph become real ``nn.Linear`` and
    ``nn.Conv2d`` layers, so that structured pruning (Torch-Pruning) can see and shrink them;
    every other node runs as a PyTorch function.
    """
    import torch
    from onnx import numpy_helper

    nodes = _needed(model.proto.graph.node, model.output_name)
    missing = sorted({n.op_type for n in nodes} - set(OPS))
    if missing:
        raise ModelError(
            f"model {model.name!r} uses ONNX operators {missing} that thrifty cannot run in "
            f"PyTorch; run it on onnxruntime instead (supported: {', '.join(sorted(OPS))})"
        )
    arrays = {t.name: numpy_helper.to_array(t) for t in model.proto.graph.initializer}
    attributes = [_attributes(node) for node in nodes]  # parsed once, not on every forward

    class OnnxModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleDict()
            self.weights = torch.nn.ParameterDict()
            self.constants: dict[str, Any] = {}
            self.sources: dict[str, tuple[str, str]] = {}  # ONNX name -> (layer or "", key)
            for index, node in enumerate(nodes):
                layer = _layer(node, arrays)
                if layer is not None:
                    self.layers[f"n{index}"] = layer
                    for name, attribute in zip(node.input[1:], ("weight", "bias"), strict=False):
                        self.sources[name] = (f"n{index}", attribute)
            for index, (name, array) in enumerate(arrays.items()):
                value = torch.from_numpy(np.array(array, copy=True))
                if name in self.sources:
                    continue
                if value.is_floating_point():
                    self.sources[name] = ("", f"w{index}")  # ParameterDict keys cannot hold dots
                    self.weights[f"w{index}"] = torch.nn.Parameter(value)
                else:
                    self.constants[name] = value

        def value(self, name: str):
            layer, key = self.sources[name]
            return getattr(self.layers[layer], key) if layer else self.weights[key]

        def onnx_names(self) -> dict[str, str]:
            """Each parameter's name here (``layers.n1.weight``) -> the graph's initializer."""
            return {(f"layers.{layer}.{key}" if layer else f"weights.{key}"): name
                    for name, (layer, key) in self.sources.items()}  # fmt: skip

        def forward(self, x):
            values = {model.input_name: x, **self.constants}
            for index, node in enumerate(nodes):
                if f"n{index}" in self.layers:
                    outputs = self.layers[f"n{index}"](values[node.input[0]])
                else:
                    inputs = [self._input(values, name) for name in node.input]
                    outputs = OPS[node.op_type](attributes[index], *inputs)
                outputs = outputs if isinstance(outputs, tuple) else (outputs,)
                values.update(zip(node.output, outputs, strict=False))
            return values[model.output_name]

        def _input(self, values, name):
            if not name:
                return None
            return values[name] if name in values else self.value(name)

    return OnnxModule()


def _layer(node, arrays):
    """An ``nn.Linear`` or ``nn.Conv2d`` for a plain Gemm or 2-D Conv node, else None."""
    import torch

    weights = [arrays.get(name) for name in node.input[1:]]
    if not weights or any(w is None for w in weights):
        return None
    a = _attributes(node)
    if (
        node.op_type == "Gemm"
        and a.get("transB") == 1
        and not a.get("transA")
        and (a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0 and weights[-1].ndim == 1)
    ):
        out_features, in_features = weights[0].shape
        layer = torch.nn.Linear(in_features, out_features, bias=len(weights) == 2)
    elif node.op_type == "Conv" and weights[0].ndim == 4 and a.get("group", 1) == 1:
        out_channels, in_channels, *kernel = weights[0].shape
        layer = torch.nn.Conv2d(
            in_channels,
            out_channels,
            tuple(kernel),
            stride=tuple(a.get("strides", [1, 1])),
            padding=_pads(a, 2),
            dilation=tuple(a.get("dilations", [1, 1])),
            bias=len(weights) == 2,
        )
    else:
        return None
    with torch.no_grad():
        for parameter, value in zip(layer.parameters(), weights, strict=True):
            parameter.copy_(torch.from_numpy(np.array(value, copy=True)))
    return layer


def with_weights(model: Model, module) -> Model:
    """``model``'s graph with the weights of ``module`` (made by :func:`to_torch`) written back.

    Shapes may have changed (structured pruning); intermediate shape annotations are dropped
    so that ONNX Runtime infers them afresh.
    """
    import onnx
    from onnx import numpy_helper

    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    for tensor in proto.graph.initializer:
        if tensor.name in module.sources:
            value = module.value(tensor.name).detach().cpu().numpy()
            tensor.CopyFrom(numpy_helper.from_array(value, tensor.name))
    del proto.graph.value_info[:]
    return Model(proto=proto, name=model.name, source=model.source, metadata=dict(model.metadata))


def _needed(nodes, output: str) -> list:
    """The nodes that ``output`` depends on, in graph order (others, like a label head, skipped)."""
    wanted, keep = {output}, []
    for node in reversed(list(nodes)):
        if wanted.intersection(node.output):
            keep.append(node)
            wanted.update(name for name in node.input if name)
    return keep[::-1]


def _attributes(node) -> dict[str, Any]:
    from onnx import helper, numpy_helper

    out = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.type == attribute.TENSOR:
            value = numpy_helper.to_array(value)
        out[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _gemm(a, x, w, b=None):
    x = x.t() if a.get("transA") else x
    w = w.t() if a.get("transB") else w
    out = a.get("alpha", 1.0) * (x @ w)
    return out if b is None else out + a.get("beta", 1.0) * b


def _pads(a, dims: int) -> tuple[int, ...]:
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise ModelError(f"auto_pad {a['auto_pad']!r} is not supported; re-export with pads")
    pads = a.get("pads", [0] * 2 * dims)
    if pads[:dims] != pads[dims:]:
        raise ModelError(f"asymmetric pads {pads} are not supported; re-export the model")
    return tuple(pads[:dims])


def _conv(a, x, w, b=None):
    import torch.nn.functional as F

    dims = w.dim() - 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
    return conv(
        x,
        w,
        b,
        stride=tuple(a.get("strides", [1] * dims)),
        padding=_pads(a, dims),
        dilation=tuple(a.get("dilations", [1] * dims)),
        groups=a.get("group", 1),
    )


def _pool(kind: str):
    def run(a, x):
        import torch.nn.functional as F

        dims = x.dim() - 2
        kernel = tuple(a["kernel_shape"])
        stride = tuple(a.get("strides", [1] * dims))
        padding = _pads(a, dims)
        ceil = bool(a.get("ceil_mode", 0))
        if kind == "max":
            pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
            return pool(x, kernel, stride, padding, ceil_mode=ceil)
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
        return pool(
            x,
            kernel,
            stride,
            padding,
            ceil_mode=ceil,
            count_include_pad=bool(a.get("count_include_pad", 0)),
        )

    return run


def _reshape(a, x, shape):
    target = [int(d) for d in shape.tolist()]
    if not a.get("allowzero"):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


def _flatten(a, x):
    axis = a.get("axis", 1) % max(1, x.dim())
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _cast(a, x):
    import torch
    from onnx import helper

    dtype = helper.tensor_dtype_to_np_dtype(a["to"])
    return x.to(torch.from_numpy(np.zeros(1, dtype=dtype)).dtype)


def _constant(a):
    import torch

    return torch.from_numpy(np.array(a["value"], copy=True))


def _unsqueeze(a, x, axes=None):
    axes = axes.tolist() if axes is not None else a["axes"]
    for axis in sorted(int(v) % (x.dim() + len(axes)) for v in axes):
        x = x.unsqueeze(axis)
    return x


def _squeeze(a, x, axes=None):
    axes = axes.tolist() if axes is not None else a.get("axes")
    return x.squeeze() if axes is None else x.squeeze(tuple(int(v) for v in axes))


def _gather(a, x, index):
    import torch

    return torch.index_select(x, a.get("axis", 0), index.reshape(-1).long()).reshape(
        (*x.shape[: a.get("axis", 0)], *index.shape, *x.shape[a.get("axis", 0) + 1 :])
    )


def _concat(a, *xs):
    import torch

    return torch.cat(xs, dim=a["axis"])


def _shape(a, x):
    import torch

    return torch.tensor(x.shape, dtype=torch.int64)


def _argmax(a, x):
    return x.argmax(dim=a.get("axis", 0), keepdim=bool(a.get("keepdims", 1)))


def _torch(name: str) -> Callable:
    def run(a, *xs):
        import torch

        return getattr(torch, name)(*xs)

    return run


OPS: dict[str, Callable] = {
    "Gemm": _gemm,
    "MatMul": _torch("matmul"),
    "Add": _torch("add"),
    "Sub": _torch("sub"),
    "Mul": _torch("mul"),
    "Div": _torch("div"),
    "Relu": _torch("relu"),
    "Sigmoid": _torch("sigmoid"),
    "Tanh": _torch("tanh"),
    "Softmax": lambda a, x: x.softmax(dim=a.get("axis", -1)),
    "LogSoftmax": lambda a, x: x.log_softmax(dim=a.get("axis", -1)),
    "Conv": _conv,
    "MaxPool": _pool("max"),
    "AveragePool": _pool("avg"),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": lambda a, x: x.permute(a.get("perm", list(range(x.dim()))[::-1])),
    "Identity": lambda a, x: x,
    "Dropout": lambda a, x, *rest: x,
    "Cast": _cast,
    "Constant": _constant,
    "Shape": _shape,
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "ArgMax": _argmax,
}

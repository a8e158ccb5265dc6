"""Parameters, bytes and multiply-accumulates per layer, read from the ONNX graph that ships.

Counting on the graph (not the torch module) means the same numbers for any model, whichever
converter made it. A "layer" is a node that holds weights or does multiply-accumulates.
MACs are per sample; FLOPs are 2 x MACs (one multiply and one add), the convention of
``torch.utils.flop_counter`` and of most papers.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

SHAPE_TYPES = {"int64", "int32"}  # shape and index constants, not learned parameters


@dataclass(frozen=True)
class Layer:
    name: str
    op: str
    params: int
    bytes: int
    macs: int  # multiply-accumulates for one sample

    @property
    def flops(self) -> int:
        return 2 * self.macs


def count_layers(proto) -> list[Layer]:
    """One Layer per node that holds weights or multiplies; a shared weight counts once."""
    import onnx

    weights = {t.name: t for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].HasField("t"):
            weights[node.output[0]] = node.attribute[0].t
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = _shapes(inferred.graph)
    for name, tensor in weights.items():
        shapes[name] = tuple(tensor.dims)

    layers, seen = [], set()
    for index, node in enumerate(proto.graph.node):
        params = nbytes = 0
        for name in node.input:
            if name in weights and name not in seen:
                seen.add(name)
                tensor = weights[name]
                dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
                if np.dtype(dtype).name in SHAPE_TYPES:
                    continue
                count = prod(tensor.dims)
                params += count
                nbytes += count * np.dtype(dtype).itemsize
        macs = _macs(node, shapes)
        if params or macs:
            name = node.name or f"{node.op_type}_{index}"
            layers.append(Layer(name, node.op_type, params, nbytes, macs))
    return layers


def _shapes(graph) -> dict[str, tuple]:
    """Known shapes of every value; symbolic dimensions (the batch) are None."""
    shapes = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    return shapes


def _per_sample(shape: tuple | None) -> int | None:
    """Elements per sample: the product of all but the batch axis, if all are known."""
    if not shape or any(d is None for d in shape[1:]):
        return None
    return prod(shape[1:])


def _macs(node, shapes) -> int:
    """Multiply-accumulates per sample of one node; 0 where shapes are unknown or it has none."""
    op = node.op_type
    weight = shapes.get(node.input[1]) if len(node.input) > 1 else None
    if not weight or None in weight:
        return 0
    if op == "Conv":  # each output element: (input channels / groups) x kernel area products
        out = _per_sample(shapes.get(node.output[0]))
        return 0 if out is None else out * prod(weight[1:])
    if op == "ConvTranspose":  # each input element: (output channels / groups) x kernel area
        inp = _per_sample(shapes.get(node.input[0]))
        return 0 if inp is None else inp * prod(weight[1:])
    if op == "Gemm":  # one row of A (K) times B (K x N, or N x K when transposed)
        return prod(weight)
    if op == "MatMul":  # A's rows (..., M, K) times B (K x N): M x K x N per sample
        inp = _per_sample(shapes.get(node.input[0]))
        return 0 if inp is None else inp * weight[-1]
    return 0

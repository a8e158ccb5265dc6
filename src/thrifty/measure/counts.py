"""Parameters, bytes and multiply-accumulates per layer, read from the ONNX graph that ships.

Counting on the graph (not the torch module) means the same numbers for any model, whichever
converter made it. A "layer" is a node that holds weights or does multiply-accumulates.
MACs are per sample; FLOPs are 2 x MACs (one multiply and one add), the convention of
``torch.utils.flop_counter`` and of most papers.

Quantized graphs count as their float originals do: the integer operators (QLinearConv,
QLinearMatMul, QGemm, ConvInteger, MatMulInteger, MatMulNBits) multiply as Conv, MatMul and
Gemm do, and in the QDQ format a weight read through a DequantizeLinear counts in the layer
that reads it, at its integer size (1 byte per int8 weight, 4 per int32 bias; MatMulNBits'
packed weight at its packed size, K x N parameters). Scales and zero points are not
parameters and not in a layer's bytes: one or two numbers per output channel (under 5% of an
int8 layer of 100 inputs, less in larger ones), not learned; the file's size, which storage
prices, holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

# op: (how it multiplies, the input it multiplies, its weight input)
PRODUCTS = {
    "Conv": ("conv", 0, 1),
    "ConvInteger": ("conv", 0, 1),
    "QLinearConv": ("conv", 0, 3),
    "ConvTranspose": ("transpose", 0, 1),
    "Gemm": ("gemm", 0, 1),
    "QGemm": ("gemm", 0, 3),
    "MatMul": ("matmul", 0, 1),
    "MatMulInteger": ("matmul", 0, 1),
    "QLinearMatMul": ("matmul", 0, 3),
    "MatMulNBits": ("matmul", 0, 1),
}
# op: its inputs that are quantized weights and biases: parameters, though integers
QUANTIZED = {
    "ConvInteger": (0, 1),
    "QLinearConv": (3, 8),
    "QGemm": (0, 3, 6),
    "MatMulInteger": (0, 1),
    "QLinearMatMul": (0, 3),
    "MatMulNBits": (1,),
}
# op: its inputs that are scales and zero points
SCALES = {
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
    "ConvInteger": (2, 3),
    "QLinearConv": (1, 2, 4, 5, 6, 7),
    "QGemm": (1, 2, 4, 5, 7, 8),
    "MatMulInteger": (2, 3),
    "QLinearMatMul": (1, 2, 4, 5, 6, 7),
    "MatMulNBits": (2, 3),
}


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


def count_layers(proto, length: int | None = None) -> list[Layer]:
    """One Layer per node that holds weights or multiplies; a shared weight counts once.

    ``length``: a sample's length along the inputs' dynamic axes past the batch (a text's
    tokens), for the MACs of a graph whose sizes depend on it; products of two activations
    (attention's scores) are not counted, only those with a weight."""
    return [layer for layer, _ in _layers(_at_length(proto, length) if length else proto, length)]


def _at_length(proto, length: int):
    """A copy of ``proto`` whose inputs' dynamic axes past the batch are ``length`` long."""
    import copy

    sized = copy.deepcopy(proto)
    for value in sized.graph.input:
        for dim in list(value.type.tensor_type.shape.dim)[1:]:
            if not dim.HasField("dim_value"):
                dim.dim_value = length
    return sized


def weight_layers(proto) -> dict[str, str]:
    """Each weight's name (the graph's initializer) -> the name of the layer that counts it."""
    return {weight: layer.name for layer, weights in _layers(proto) for weight in weights}


def _layers(proto, length: int | None = None) -> list[tuple[Layer, list[str]]]:
    """Each layer, with the names of the weights it counts (``length``: see count_layers)."""
    weights = _weights(proto.graph)
    behind = _dequantized(proto.graph, weights)
    scales = _scales(proto.graph)
    shapes = _inferred_shapes(proto, weights)
    shapes.update({name: tuple(tensor.dims) for name, tensor in weights.items()})
    shapes.update({value: shapes[weight] for value, weight in behind.items()})

    layers, seen = [], set()
    for index, node in enumerate(proto.graph.node):
        if node.output and node.output[0] in behind:
            continue  # a weight's DequantizeLinear: the weight counts in the layer reading it
        params = nbytes = 0
        held = []
        for slot, value in enumerate(node.input):
            name = behind.get(value, value)
            if name not in weights or name in seen or name in scales:
                continue
            seen.add(name)
            quantized = value in behind or slot in QUANTIZED.get(node.op_type, ())
            count, size = _parameters(node, weights[name], quantized)
            params, nbytes = params + count, nbytes + size
            if count:
                held.append(name)
        macs = _macs(node, shapes, length)
        if params or macs:
            name = node.name or f"{node.op_type}_{index}"
            layers.append((Layer(name, node.op_type, params, nbytes, macs), held))
    return layers


def _weights(graph) -> dict:
    """Initializers and Constant nodes' tensors, by name."""
    weights = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].HasField("t"):
            weights[node.output[0]] = node.attribute[0].t
    return weights


def _dequantized(graph, weights) -> dict[str, str]:
    """QDQ format: each DequantizeLinear output that is a weight -> the integer weight behind it."""
    return {
        node.output[0]: node.input[0]
        for node in graph.node
        if node.op_type == "DequantizeLinear" and node.input[0] in weights
    }


def _scales(graph) -> set[str]:
    """Names of the values that are scales or zero points. ONNX Runtime's dynamic format also
    multiplies each weight's scale by the activation's (DynamicQuantizeLinear's second output)
    in a plain Mul."""
    found = {node.input[slot] for node in graph.node
             for slot in SCALES.get(node.op_type, ()) if slot < len(node.input)}  # fmt: skip
    dynamic = {node.output[1] for node in graph.node if node.op_type == "DynamicQuantizeLinear"}
    for node in graph.node:
        if node.op_type == "Mul" and dynamic.intersection(node.input):
            found.update(node.input)
    return found


def _parameters(node, tensor, quantized: bool) -> tuple[int, int]:
    """Parameters and bytes of one weight; none for integer constants (shapes, indices) that no
    quantized operator reads as a weight."""
    import onnx

    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
    if dtype.kind in "iub" and not quantized:
        return 0, 0
    count = prod(tensor.dims)
    if node.op_type == "MatMulNBits":  # packed: a few weights a byte; the count is K x N
        return _attribute(node, "K") * _attribute(node, "N"), count * dtype.itemsize
    return count, count * dtype.itemsize


def _inferred_shapes(proto, weights: dict) -> dict[str, tuple]:
    """Every value's known shape. ONNX's shape inference stops at ONNX Runtime's own operators
    (com.microsoft: MatMulNBits, QGemm), which it does not know: their outputs are written in
    from their inputs' shapes and inference runs again, past them, until nothing is added."""
    import onnx

    while True:
        inferred = onnx.shape_inference.infer_shapes(proto)
        values = {v.name: v for v in (*inferred.graph.input, *inferred.graph.value_info,
                                      *inferred.graph.output)}  # fmt: skip
        added = [out for node in inferred.graph.node if node.op_type in OUTPUTS
                 and node.output[0] not in values
                 and (out := OUTPUTS[node.op_type](node, values, weights)) is not None]  # fmt: skip
        if not added:  # symbolic dimensions (the batch) are None
            return {name: tuple(d if isinstance(d, int) else None for d in _dims(value))
                    for name, value in values.items()}  # fmt: skip
        inferred.graph.value_info.extend(added)
        proto = inferred


def _nbits_output(node, values, weights):
    """MatMulNBits: A's shape with N last, in A's type."""
    import onnx

    a = values.get(node.input[0])
    if a is None:
        return None
    dims = [*_dims(a)[:-1], _attribute(node, "N")]
    return onnx.helper.make_tensor_value_info(node.output[0], a.type.tensor_type.elem_type, dims)


def _qgemm_output(node, values, weights):
    """QGemm: A's rows by B's columns (either transposed), in its zero point's type (float
    without one)."""
    import onnx

    a, b = values.get(node.input[0]), weights.get(node.input[3])
    if a is None or b is None:
        return None
    rows = _dims(a)[1 if _attribute(node, "transA", 0) else 0]
    columns = b.dims[0 if _attribute(node, "transB", 0) else 1]
    zero = weights.get(node.input[8]) if len(node.input) > 8 else None
    elem = zero.data_type if zero is not None else onnx.TensorProto.FLOAT
    return onnx.helper.make_tensor_value_info(node.output[0], elem, [rows, columns])


OUTPUTS = {"MatMulNBits": _nbits_output, "QGemm": _qgemm_output}


def _dims(value) -> list:
    """A value's dimensions: numbers, names of symbolic ones, None where unknown."""
    dims = value.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param or None for d in dims]


def _per_sample(shape: tuple | None) -> int | None:
    """Elements per sample: the product of all but the batch axis, if all are known."""
    if not shape or any(d is None for d in shape[1:]):
        return None
    return prod(shape[1:])


def _attribute(node, name: str, default=None):
    import onnx

    found = (onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name)
    return next(found, default)


def _macs(node, shapes, length: int | None = None) -> int:
    """Multiply-accumulates per sample of one node; 0 where shapes are unknown or it has none.
    A MatMul by a weight whose input's shape inference lost (a transformer's, after a Reshape
    to a shape computed at run time) applies it to each of a sample's ``length`` tokens."""
    if node.op_type not in PRODUCTS:
        return 0
    kind, data, slot = PRODUCTS[node.op_type]
    if node.op_type == "MatMulNBits":  # the weight is packed; its shape is K x N
        weight = (_attribute(node, "K"), _attribute(node, "N"))
    else:
        weight = shapes.get(node.input[slot]) if len(node.input) > slot else None
    if not weight or None in weight:
        return 0
    if kind == "conv":  # each output element: (input channels / groups) x kernel area products
        out = _per_sample(shapes.get(node.output[0]))
        return 0 if out is None else out * prod(weight[1:])
    if kind == "transpose":  # each input element: (output channels / groups) x kernel area
        inp = _per_sample(shapes.get(node.input[data]))
        return 0 if inp is None else inp * prod(weight[1:])
    if kind == "gemm":  # one row of A (K) times B (K x N, or N x K when transposed)
        return prod(weight)
    inp = _per_sample(shapes.get(node.input[data]))  # matmul: (..., M, K) x (K, N) per sample
    if inp is None:
        return length * prod(weight) if length and len(weight) == 2 else 0
    return inp * weight[-1]

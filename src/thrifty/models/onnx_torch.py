"""ONNX to a trainable ``torch.nn.Module`` and back: the graph's weights become parameters, the
nodes that the primary output needs run as PyTorch, in order, and :func:`with_weights` writes
the (fine-tuned, pruned) weights back into the same graph.

Written here rather than taken from onnx2torch (1.5.15): that package imports torchvision when
imported, and installing it replaces the pinned torch (2.13.0) with torchvision's own; it has
no converter for ReduceMean-18, Pad-18, Resize-18 or Gelu; and it runs MatMul by a constant as
a function, which Torch-Pruning cannot shrink. Here the nodes that have a torch layer become one
(:mod:`onnx_layers`), every other node runs as a function (:mod:`onnx_ops`), and an operator or
attribute outside both is refused by name before anything runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from thrifty.errors import NotApplicable
from thrifty.models.model import Model
from thrifty.models.onnx_layers import layer
from thrifty.models.onnx_ops import OPS
from thrifty.models.onnx_spatial import PAD_MODES, SPATIAL, pad_input

STILL = (
    "profile, pack, predict and int8 quantization still work (they run the graph in ONNX "
    "Runtime); techniques that fine-tune need PyTorch"
)
CANNOT = f"that thrifty cannot run in PyTorch: {STILL}"
# Attribute values the functions do not implement: each allowed set, checked before running.
# ``outputs`` is the number of outputs the node names.
LIMITS: dict[str, dict[str, set]] = {
    "AveragePool": {"dilations": {(1,), (1, 1), (1, 1, 1)}},
    "BatchNormalization": {"training_mode": {0}, "spatial": {1}},
    "ConvTranspose": {"auto_pad": {"NOTSET", "VALID"}, "output_shape": set()},
    "MaxPool": {"storage_order": {0}, "outputs": {1}},
    "Pad": {"mode": set(PAD_MODES)},
    "Resize": {
        "antialias": {0},
        "coordinate_transformation_mode": {
            "half_pixel",
            "half_pixel_symmetric",
            "pytorch_half_pixel",
            "align_corners",
            "asymmetric",
        },
        "mode": {"nearest", "linear", "cubic"},
    },
}
OPERATORS = OPS | SPATIAL  # op_type -> its PyTorch function
STANDARD = ("", "ai.onnx")  # the operator set domains thrifty runs; others (ai.onnx.ml, ...) not


def to_torch(model: Model) -> OnnxModule:
    """A module computing ``model``'s primary output, its floating-point weights parameters.

    Gemm, MatMul, Conv, ConvTranspose, BatchNormalization and LayerNormalization nodes with
    constant weights become ``nn.Linear``, ``nn.ConvNd``, ``nn.BatchNormNd`` and ``nn.LayerNorm``
    layers, so that structured pruning (Torch-Pruning) can see and shrink them. It comes in
    evaluation mode, computing what the graph does (BatchNorm from its running statistics).
    """
    opset = next((o.version for o in model.proto.opset_import if o.domain in STANDARD), 1)
    graph = list(model.proto.graph.node)
    nodes = [
        (i, graph[i]) for i in _needed([(n.input, n.output) for n in graph], model.output_name)
    ]
    _refuse_unsupported(model, nodes, opset)
    return OnnxModule(model, nodes, opset).eval()


@dataclass(frozen=True)
class Step:
    """One node, as the forward pass runs it."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]
    layer: str | None  # the key of its layer in ``OnnxModule.layers``; None: a function
    padded: bool  # the layer's input is padded first


class OnnxModule(nn.Module):
    """An ONNX graph as PyTorch: ``layers`` (torch layers), ``weights`` (the graph's other
    floating-point initializers, as parameters) and the graph's other constants as buffers."""

    def __init__(self, model: Model, nodes: list, opset: int) -> None:
        from onnx import numpy_helper

        super().__init__()
        initializers = {t.name: numpy_helper.to_array(t) for t in model.proto.graph.initializer}
        arrays = initializers | {
            n.output[0]: _constant(model, n) for _, n in nodes if n.op_type == "Constant"
        }
        self.input_names, self.output_name = model.input_names, model.output_name
        self.layers = nn.ModuleDict()
        self.bindings: dict[str, tuple[int, Any]] = {}  # layer -> (node index, Binding)
        self.names: dict[str, str] = {}  # each parameter's name here -> the graph's tensor
        self.steps = self._steps(model, nodes, arrays, opset)
        self.weights = nn.ParameterDict()
        self.parameter_keys: dict[str, str] = {}  # ONNX name -> key in weights
        self.buffer_keys: dict[str, str] = {}  # ONNX name -> buffer
        read = {n for s in self.steps if s.layer is None for n in s.inputs} | {self.output_name}
        for index, (name, array) in enumerate(arrays.items()):
            if name not in read:
                continue
            value = torch.from_numpy(np.array(array, copy=True))
            if value.is_floating_point() and name in initializers:  # a Constant node's: fixed
                self.parameter_keys[name] = f"w{index}"  # ParameterDict keys cannot hold dots
                self.weights[f"w{index}"] = nn.Parameter(value)
                self.names[f"weights.w{index}"] = name
            else:
                self.buffer_keys[name] = f"c{index}"
                self.register_buffer(f"c{index}", value, persistent=False)

    def _steps(self, model: Model, nodes: list, arrays: dict, opset: int) -> list[Step]:
        """The nodes as steps, a layer made for each that has one; the steps that only carried
        a layer's weights (Identity nodes) are dropped, the layer holding its own."""
        roots = _roots(n for _, n in nodes)
        constants = {name: arrays[root] for name, root in roots.items() if root in arrays}
        ranks = _ranks(model.proto, nodes)
        steps = []
        for index, node in nodes:
            if node.op_type == "Constant":
                continue
            a = _attributes(node, opset)
            found = layer(node, a, constants, ranks.get(node.input[0]) if node.input else None)
            key = f"n{index}" if found else None
            if found:
                self.layers[key], binding = found
                self.bindings[key] = (index, binding)
                for attribute, (position, _) in binding.tensors.items():
                    self.names[f"layers.{key}.{attribute}"] = roots[node.input[position]]
            padded = bool(found and found[1].padded)
            steps.append(Step(node.op_type, tuple(node.input), tuple(node.output), a, key, padded))
        reads = [(s.inputs[:1] if s.layer else s.inputs, s.outputs) for s in steps]
        return [steps[i] for i in _needed(reads, self.output_name)]

    def onnx_names(self) -> dict[str, str]:
        """Each parameter's name here (``layers.n1.weight``) -> the graph's initializer."""
        return dict(self.names)

    def forward(self, *arrays, **named):
        """The graph's output for its inputs: in the graph's order, or by name
        (``input_ids=...``, as thrifty feeds named samples)."""
        values = {name: self.weights[key] for name, key in self.parameter_keys.items()}
        values |= {name: getattr(self, key) for name, key in self.buffer_keys.items()}
        values |= dict(zip(self.input_names, arrays, strict=False)) | named
        for step in self.steps:
            if step.layer is None:
                inputs = [values[name] if name else None for name in step.inputs]
                outputs = OPERATORS[step.op](step.attributes, *inputs)
            else:
                module, given = self.layers[step.layer], values[step.inputs[0]]
                outputs = module(
                    pad_input(step.attributes, given, module) if step.padded else given
                )
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            values.update(zip(step.outputs, outputs, strict=False))
        return values[self.output_name]


def _needed(flows: list[tuple], output: str) -> list[int]:
    """The indices of the nodes or steps (each as what it reads and what it writes) that
    ``output`` depends on, in order; the others (a label head) are left out."""
    wanted, keep = {output}, []
    for index, (reads, writes) in reversed(list(enumerate(flows))):
        if wanted.intersection(writes):
            keep.append(index)
            wanted.update(name for name in reads if name)
    return keep[::-1]


def _refuse_unsupported(model: Model, nodes: list, opset: int) -> None:
    """NotApplicable naming the first node thrifty cannot run (and the other operators it
    lacks), or the first attribute value outside ``LIMITS``: the techniques that fine-tune
    do not apply to the graph, and the optimizer tries the others."""
    missing = [n for _, n in nodes if _operator(n) not in OPERATORS and _operator(n) != "Constant"]
    if missing:
        others = sorted({_operator(n) for n in missing} - {_operator(missing[0])})
        also = f" (and operators {', '.join(others)})" if others else ""
        raise NotApplicable(
            f"model {model.name!r} uses ONNX operator {_operator(missing[0])} "
            f"(node {_node_name(missing[0])!r}){also} {CANNOT}"
        )
    for _, node in nodes:
        a = _attributes(node, opset)
        for attribute, allowed in LIMITS.get(node.op_type, {}).items():
            value = a.get(attribute)
            value = tuple(value) if isinstance(value, list) else value
            if value is not None and value not in allowed:
                raise NotApplicable(
                    f"model {model.name!r} uses ONNX operator {node.op_type} with "
                    f"{attribute}={value!r} (node {_node_name(node)!r}) {CANNOT}"
                )


def _operator(node) -> str:
    return f"{node.domain}.{node.op_type}" if node.domain not in STANDARD else node.op_type


def _node_name(node) -> str:
    return node.name or node.output[0]


def _attributes(node, opset: int) -> dict[str, Any]:
    """The node's attributes, tensors as arrays, plus ``opset`` and ``outputs`` (see onnx_ops)."""
    from onnx import helper, numpy_helper

    out: dict[str, Any] = {"opset": opset, "outputs": sum(1 for name in node.output if name)}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.type == attribute.TENSOR:
            value = numpy_helper.to_array(value)
        out[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _constant(model: Model, node) -> np.ndarray:
    value = _constant_value(node)
    if value is not None:
        return value
    raise NotApplicable(
        f"model {model.name!r} uses ONNX operator Constant holding text or a sparse tensor "
        f"(node {_node_name(node)!r}) {CANNOT}"
    )


def _constant_value(node) -> np.ndarray | None:
    """A Constant node's number or numbers; None for text and sparse tensors."""
    a = _attributes(node, 0)
    for key, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in a and np.asarray(a[key]).dtype.kind in "biuf":
            return np.asarray(a[key], dtype=dtype)
    return None


def _roots(nodes) -> dict[str, str]:
    """Each value's source once Identity nodes are seen through: an input's name, or itself."""
    roots: dict[str, str] = {}
    for node in nodes:
        for name in node.input:
            roots.setdefault(name, name)
        for name in node.output:
            roots[name] = roots[node.input[0]] if node.op_type == "Identity" else name
    return roots


def _ranks(proto, nodes) -> dict[str, int]:
    """Each value's rank where shape inference finds it, for the layers that need it (torch's
    BatchNorm differs by rank; LayerNormalization's axis may count from the front); graphs
    without them skip the inference."""
    import onnx

    if not any(n.op_type in ("BatchNormalization", "LayerNormalization") for _, n in nodes):
        return {}
    try:
        inferred = onnx.shape_inference.infer_shapes(proto).graph
    except onnx.shape_inference.InferenceError:
        return {}
    values = (*inferred.value_info, *inferred.input, *inferred.output)
    return {
        v.name: len(v.type.tensor_type.shape.dim)
        for v in values
        if v.type.tensor_type.HasField("shape")
    }


def with_weights(model: Model, module: OnnxModule) -> Model:
    """``model``'s graph with the weights of ``module`` (made by :func:`to_torch`) written back.

    A layer's tensor goes back into the initializer it came from when nothing else reads that;
    a shared one that changed (exporters merge equal initializers) becomes the layer's own.
    Shapes may have changed (structured pruning); intermediate shape annotations are dropped
    so that ONNX Runtime infers them afresh.
    """
    import onnx
    from onnx import numpy_helper

    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer}
    for name, key in module.parameter_keys.items():
        _write(initializers[name], module.weights[key])
    readers = _readers(graph)
    roots = _roots(graph.node)
    for key, (index, binding) in module.bindings.items():
        found, node = module.layers[key], graph.node[index]
        for attribute, (position, transposed) in binding.tensors.items():
            value = getattr(found, attribute).detach().cpu()
            value = (value.T if transposed else value).numpy()
            name = node.input[position]
            if name in initializers and readers[name] == 1:
                _write(initializers[name], value)
                continue
            original = _original(graph, roots[name])
            if original.shape == value.shape and np.array_equal(original, value):
                continue
            fresh = f"{node.output[0]}.{attribute}"
            tensor = numpy_helper.from_array(value.astype(original.dtype), fresh)
            graph.initializer.append(tensor)
            initializers[fresh] = graph.initializer[-1]
            node.input[position] = fresh
        for onnx_attribute, attribute in binding.attributes.items():
            _set_int(node, onnx_attribute, int(getattr(found, attribute)))
    _sweep(graph)
    _retype_inputs(graph)
    del graph.value_info[:]
    return Model(proto=proto, name=model.name, source=model.source, metadata=dict(model.metadata))


def _write(tensor, value) -> None:
    from onnx import helper, numpy_helper

    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    tensor.CopyFrom(numpy_helper.from_array(np.asarray(value).astype(dtype), tensor.name))


def _original(graph, name: str) -> np.ndarray:
    """The value an initializer or a Constant node gives ``name``."""
    from onnx import numpy_helper

    for tensor in graph.initializer:
        if tensor.name == name:
            return numpy_helper.to_array(tensor)
    return next(
        _constant_value(n) for n in graph.node if n.op_type == "Constant" and n.output[0] == name
    )


def _set_int(node, name: str, value: int) -> None:
    """Set an integer attribute whose default is 1 (``group``), adding it only if it differs."""
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            attribute.i = value
            return
    if value != 1:
        node.attribute.append(helper.make_attribute(name, value))


def _readers(graph) -> Counter:
    """How many node inputs (subgraphs' too) and graph outputs read each name."""
    from thrifty.models.onnx_file import graphs

    names = Counter(name for g in graphs(graph) for node in g.node for name in node.input)
    names.update(output.name for output in graph.output)
    return names


def _sweep(graph) -> None:
    """Drop the Identity and Constant nodes, and the initializers, that nothing reads any more
    (a layer's own tensor replaced them)."""
    while True:
        readers = _readers(graph)
        dead = [n for n in graph.node if n.op_type in ("Identity", "Constant")
                and not any(readers[name] for name in n.output)]  # fmt: skip
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    for tensor in [t for t in graph.initializer if not readers[t.name]]:
        graph.initializer.remove(tensor)
        for item in [i for i in graph.input if i.name == tensor.name]:
            graph.input.remove(item)


def _retype_inputs(graph) -> None:
    """Graph inputs that list initializers (older exporters do) take their new shapes."""
    from onnx import helper

    tensors = {t.name: t for t in graph.initializer}
    for item in graph.input:
        if item.name in tensors:
            tensor = tensors[item.name]
            item.CopyFrom(helper.make_tensor_value_info(item.name, tensor.data_type, tensor.dims))

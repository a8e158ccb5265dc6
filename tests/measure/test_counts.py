"""Counts are exact: checked against hand computation, layer by layer."""

import pytest

import thrifty as th
from thrifty.measure import count_layers


def _counts(name, input_shape, outputs=10):
    model = th.load(th.models.build(name, input_shape, outputs), input_shape=input_shape)
    layers = count_layers(model.proto)
    return layers, sum(layer.params for layer in layers), sum(layer.macs for layer in layers)


def test_lenet_300_100():
    layers, params, macs = _counts("lenet-300-100", (1, 28, 28))
    assert [layer.macs for layer in layers] == [784 * 300, 300 * 100, 100 * 10]
    assert params == (784 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10) == 266_610
    assert macs == 266_200
    assert sum(layer.bytes for layer in layers) == 4 * 266_610


def test_lenet_5():
    layers, params, macs = _counts("lenet-5", (1, 28, 28))
    conv1 = 24 * 24 * 20 * (1 * 5 * 5)  # 28-5+1 = 24; each output sums 1 channel x 5x5
    conv2 = 8 * 8 * 50 * (20 * 5 * 5)  # pooled to 12, 12-5+1 = 8; each sums 20 channels x 5x5
    fc1, fc2 = 4 * 4 * 50 * 500, 500 * 10  # pooled to 4x4x50 = 800 inputs
    assert [layer.macs for layer in layers] == [conv1, conv2, fc1, fc2]
    assert macs == 2_293_000
    assert params == (20 * 25 + 20) + (50 * 20 * 25 + 50) + (800 * 500 + 500) + (500 * 10 + 10)
    assert params == 431_080


def test_mlp_2048():
    _, params, macs = _counts("mlp-2048", (1, 28, 28))
    assert macs == 784 * 2048 + 2048 * 2048 + 2048 * 10
    assert params == macs + 2048 + 2048 + 10


@pytest.mark.parametrize("groups", [1, 2])
def test_grouped_conv_and_matmul(groups):
    from torch import nn

    module = nn.Sequential(nn.Conv2d(4, 8, 3, groups=groups, bias=False), nn.Flatten())
    model = th.load(module, input_shape=(4, 10, 10))
    (layer,) = count_layers(model.proto)
    assert layer.macs == 8 * 8 * 8 * (4 // groups) * 3 * 3
    assert layer.params == 8 * (4 // groups) * 9


def _totals(proto):
    layers = count_layers(proto)
    return sum(x.macs for x in layers), sum(x.params for x in layers), sum(x.bytes for x in layers)


@pytest.mark.parametrize("mode", ["int8-dynamic", "int8-static"])
def test_int8_counts_as_its_float_original(digits, mode):
    """ONNX Runtime's quantizer as thrifty runs it: MatMulInteger (dynamic), QDQ Gemm (static).
    Each int8 weight is a parameter of 1 byte; biases stay float (dynamic) or become int32
    (static), 4 bytes either way; scales and zero points are neither."""
    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    quantized = th.compress(model, f"quantize:{mode}", digits)
    macs, params, nbytes = _totals(quantized.proto)
    weights, biases = 64 * 128 + 128 * 64 + 64 * 10, 128 + 64 + 10
    assert (macs, params) == _totals(model.proto)[:2] == (weights, weights + biases)
    assert nbytes == weights + 4 * biases
    assert {x.op for x in count_layers(quantized.proto) if x.macs} == {
        "int8-dynamic": {"MatMulInteger"}, "int8-static": {"Gemm"}}[mode]  # fmt: skip


def test_int8_operator_format_counts_as_its_float_original(digits, tmp_path):
    """ONNX Runtime's other static layout: QGemm (its own operator) in place of each Gemm."""
    import onnx
    from onnxruntime.quantization import QuantFormat, quantize_static

    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    onnx.save(model.proto, tmp_path / "m.onnx")
    rows = iter([{model.input_name: digits.train.x[:32].astype("float32")}])
    quantize_static(tmp_path / "m.onnx", tmp_path / "q.onnx", _Rows(rows),
                    quant_format=QuantFormat.QOperator)  # fmt: skip
    quantized = onnx.load(tmp_path / "q.onnx")
    assert {n.op_type for n in quantized.graph.node} >= {"QGemm"}
    assert _totals(quantized)[:2] == _totals(model.proto)[:2]


class _Rows:
    def __init__(self, batches):
        self.batches = batches

    def get_next(self):
        return next(self.batches, None)


def _graph(nodes, inputs, weights, output_shape, opsets=(("", 17),)):
    """A model of ``nodes`` over one input ``x`` of ``inputs`` (batch first) and ``weights``."""
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *inputs])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", *output_shape])
    initializers = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    graph = helper.make_graph(nodes, "g", [x], [y], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(*o) for o in opsets])


def _scale_and_zero(name, zero_type="uint8"):
    import numpy as np

    return {f"{name}_scale": np.float32(0.1), f"{name}_zero": np.zeros((), zero_type)}


def _conv_graphs():
    """One 3x3 convolution, 3 channels in and 4 out on 8x8, in each form: float, QDQ,
    QLinearConv (with an int32 bias) and ConvInteger (dynamic, as ONNX Runtime writes it)."""
    import numpy as np
    from onnx import helper

    w = np.ones((4, 3, 3, 3), np.float32)
    q = {"w_q": w.astype(np.int8), **_scale_and_zero("w", "int8")}
    act = {**_scale_and_zero("x"), **_scale_and_zero("y")}
    conv = helper.make_node
    return {
        "Conv": ([conv("Conv", ["x", "w"], ["y"])], {"w": w}),
        "QDQ": ([conv("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"]),
                 conv("Conv", ["x", "w"], ["y"])], q),
        "QLinearConv": ([conv("QuantizeLinear", ["x", "x_scale", "x_zero"], ["xq"]),
                         conv("QLinearConv", ["xq", "x_scale", "x_zero", "w_q", "w_scale",
                                              "w_zero", "y_scale", "y_zero", "b"], ["yq"]),
                         conv("DequantizeLinear", ["yq", "y_scale", "y_zero"], ["y"])],
                        {**q, **act, "b": np.zeros(4, np.int32)}),
        "ConvInteger": ([conv("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
                         conv("ConvInteger", ["xq", "w_q", "xz", "w_zero"], ["acc"]),
                         conv("Cast", ["acc"], ["y"], to=1)], q),
    }  # fmt: skip


@pytest.mark.parametrize("form", ["Conv", "QDQ", "QLinearConv", "ConvInteger"])
def test_quantized_convolutions(form):
    import onnx

    nodes, weights = _conv_graphs()[form]
    proto = _graph(nodes, (3, 8, 8), weights, (4, 6, 6))
    onnx.checker.check_model(proto, full_check=True)
    (layer,) = count_layers(proto)
    assert layer.macs == 4 * 6 * 6 * (3 * 3 * 3)  # each output sums 3 channels x 3x3
    bias = 4 if form == "QLinearConv" else 0  # int32, 4 bytes each
    assert layer.params == 4 * 27 + bias
    assert layer.bytes == (4 if form == "Conv" else 1) * 4 * 27 + 4 * bias


def _matmul_graphs():
    """Two matrix products in a row (64 -> 32 -> 10), in each form: float, QLinearMatMul,
    MatMulInteger and MatMulNBits (4 bits, blocks of 32, packed by ONNX Runtime itself)."""
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(0)
    shapes = {"a": (64, 32), "b": (32, 10)}
    floats = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    node = helper.make_node

    def two(make):
        (na, wa), (nb, wb) = make("a", "x", "h"), make("b", "r", "y")
        return [*na, node("Relu", ["h"], ["r"]), *nb], {**wa, **wb}

    def plain(k, x, y):
        return [node("MatMul", [x, k], [y])], {k: floats[k]}

    def qlinear(k, x, y):
        q = {f"{k}_q": floats[k].astype(np.int8), **_scale_and_zero(k, "int8"),
             **_scale_and_zero(f"{k}x"), **_scale_and_zero(f"{k}y")}  # fmt: skip
        s = [f"{k}x_scale", f"{k}x_zero"]
        return [node("QuantizeLinear", [x, *s], [f"{k}xq"]),
                node("QLinearMatMul", [f"{k}xq", *s, f"{k}_q", f"{k}_scale", f"{k}_zero",
                                       f"{k}y_scale", f"{k}y_zero"], [f"{k}yq"]),
                node("DequantizeLinear", [f"{k}yq", f"{k}y_scale", f"{k}y_zero"], [y]),
                ], q  # fmt: skip

    def integer(k, x, y):
        q = {f"{k}_q": floats[k].astype(np.int8), f"{k}_zero": np.zeros((), np.int8)}
        return [node("DynamicQuantizeLinear", [x], [f"{k}xq", f"{k}xs", f"{k}xz"]),
                node("MatMulInteger", [f"{k}xq", f"{k}_q", f"{k}xz", f"{k}_zero"], [f"{k}i"]),
                node("Cast", [f"{k}i"], [y], to=1)], q  # fmt: skip

    def nbits(k, x, y):
        from onnxruntime.capi._pybind_state import quantize_matmul_4bits

        inputs, outputs = shapes[k]
        blocks = inputs // 32
        packed = np.zeros((outputs, blocks, 16), np.uint8)
        scales = np.zeros(outputs * blocks, np.float32)
        zeros = np.zeros(outputs * ((blocks + 1) // 2), np.uint8)
        quantize_matmul_4bits(packed, floats[k], scales, zeros, 32, outputs, inputs, False)
        made = node("MatMulNBits", [x, f"{k}_q", f"{k}_scale", f"{k}_zero"], [y],
                    domain="com.microsoft", K=inputs, N=outputs, bits=4, block_size=32)  # fmt: skip
        return [made], {f"{k}_q": packed, f"{k}_scale": scales, f"{k}_zero": zeros}

    forms = {"MatMul": plain, "QLinearMatMul": qlinear, "MatMulInteger": integer,
             "MatMulNBits": nbits}  # fmt: skip
    return {name: two(make) for name, make in forms.items()}


@pytest.mark.parametrize("form", ["MatMul", "QLinearMatMul", "MatMulInteger", "MatMulNBits"])
def test_quantized_matrix_products(form):
    """Shapes are known past ONNX Runtime's own MatMulNBits too, so the second layer counts."""
    import numpy as np
    import onnxruntime as ort

    nodes, weights = _matmul_graphs()[form]
    opsets = (("", 17), ("com.microsoft", 1))
    proto = _graph(nodes, (64,), weights, (10,), opsets)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    session.run(None, {"x": np.zeros((2, 64), np.float32)})  # the graph is one ORT runs
    layers = [x for x in count_layers(proto) if x.op != "Relu"]
    assert [x.macs for x in layers] == [64 * 32, 32 * 10]
    assert [x.params for x in layers] == [64 * 32, 32 * 10]
    per_weight = {"MatMul": 4, "QLinearMatMul": 1, "MatMulInteger": 1, "MatMulNBits": 0.5}[form]
    assert [x.bytes for x in layers] == [64 * 32 * per_weight, 32 * 10 * per_weight]

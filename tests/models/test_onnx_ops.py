"""Each ONNX operator the converter runs, in its opset variants, checked against ONNX Runtime on
a small graph built by hand: x is the graph's input, the other inputs are initializers."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import thrifty as th
from thrifty.errors import ModelError
from thrifty.models.onnx_torch import to_torch

FLOAT, INT64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 4, 5, 6)).astype(np.float32)  # N, C, H, W
X3 = RNG.standard_normal((2, 5, 6)).astype(np.float32)
X2 = RNG.standard_normal((3, 6)).astype(np.float32)
BIG, SMALL = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def w(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def i64(*values):
    return np.array(values, dtype=np.int64)


def f32(*values):
    return np.array(values, dtype=np.float32)


def graph(nodes, x, constants=None, opset=13, out=FLOAT) -> th.Model:
    x_info = helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
    weights = [numpy_helper.from_array(np.asarray(v), k) for k, v in (constants or {}).items()]
    g = helper.make_graph(
        nodes, "g", [x_info], [helper.make_tensor_value_info("y", out, None)], weights
    )
    proto = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    return th.Model(proto=proto, name="op", source="test")


def case(op, *inputs, x=X4, opset=13, out=FLOAT, id=None, **attributes):
    """One node ``op`` reading x then ``inputs``: (name, value) pairs, or "" for an omitted one."""
    names = ["x", *(i if i == "" else i[0] for i in inputs)]
    constants = {i[0]: i[1] for i in inputs if i != ""}
    node = helper.make_node(op, names, ["y"], **attributes)
    return pytest.param([node], x, constants, opset, out, id=id or f"{op}-{opset}")


def chain(nodes, x=X4, constants=None, opset=13, out=FLOAT, *, id):
    return pytest.param(nodes, x, constants, opset, out, id=id)


def split_then_concat(opset, sizes=None, **attributes):
    """Split's parts joined in reverse order: one output that shows every part's size."""
    inputs = ["x", "sizes"] if sizes is not None and opset >= 13 else ["x"]
    attributes |= {"split": list(sizes)} if sizes is not None and opset < 13 else {}
    parts = ["a", "b", "c"]
    return [
        helper.make_node("Split", inputs, parts, axis=-1, **attributes),
        helper.make_node("Concat", parts[::-1], ["y"], axis=-1),
    ]


def sliced(starts, ends, axes=None, steps=None, *, id):
    inputs = [("s", i64(*starts)), ("e", i64(*ends))]
    inputs += [("a", i64(*axes))] if axes else []
    inputs += [("t", i64(*steps))] if steps else []
    return case("Slice", *inputs, id=id)


def resized(opset, *, scales=None, sizes=None, id, **attributes):
    """Resize by ``scales`` or to ``sizes``; roi (and scales) given empty where the opset wants
    an input there."""
    inputs = [("scales", f32(*scales))] if opset == 10 else [("roi", f32())]
    if opset > 10:
        inputs += [("scales", f32(*scales))] if scales else ["", ("sizes", i64(*sizes))]
    return case("Resize", *inputs, opset=opset, id=id, **attributes)


def padded(pads, *, opset=13, value=None, axes=None, id, **attributes):
    inputs = [("p", i64(*pads))]
    inputs += [("v", f32(value)[0])] if value is not None else ([""] if axes else [])
    inputs += [("a", i64(*axes))] if axes else []
    return case("Pad", *inputs, opset=opset, id=id, **attributes)


def nodes(*specs):
    """Nodes from (op, inputs, outputs, attributes) tuples, the last writing ``y``."""
    return [helper.make_node(op, i, o, **(a[0] if a else {})) for op, i, o, *a in specs]


CASES = [
    # Clip: bounds as attributes before opset 11, as (optional) inputs from 11
    case("Clip", opset=10, min=-0.5, max=0.5),
    case("Clip", ("lo", f32(-0.5)[0]), ("hi", f32(0.3)[0]), opset=11),
    case("Clip", "", ("hi", f32(0.3)[0]), opset=13, id="Clip-13-max-only"),
    case("Clip", opset=13, id="Clip-13-unbounded"),
    # Split: sizes as attribute before 13, as input from 13, equal parts, num_outputs (18)
    chain(split_then_concat(11, (1, 2, 3)), opset=11, id="Split-11-sizes"),
    chain(split_then_concat(11), opset=11, id="Split-11-equal"),
    chain(split_then_concat(13, (3, 2, 1)), constants={"sizes": i64(3, 2, 1)}, id="Split-13"),
    chain(split_then_concat(18, num_outputs=3), x=X3[..., :5], opset=18, id="Split-18-uneven"),
    # reductions: axes as attribute, or as input (ReduceSum from 13, the others from 18)
    case("ReduceMean", opset=13, axes=[2, 3]),
    case("ReduceMean", ("axes", i64(-1, 1)), opset=18, keepdims=0),
    case("ReduceSum", opset=11, axes=[1]),
    case("ReduceSum", ("axes", i64(0, 2)), opset=13),
    case("ReduceSum", opset=13, noop_with_empty_axes=1, id="ReduceSum-13-noop"),
    case("ReduceSum", opset=13, keepdims=0, id="ReduceSum-13-all"),
    case("ReduceL2", ("axes", i64(3)), opset=18, keepdims=0),
    case("ReduceL2", opset=13, axes=[1]),
    case("ReduceL1", ("axes", i64(2)), opset=18),
    case("ReduceMax", ("axes", i64(1)), opset=18),
    case("ReduceMin", opset=13, axes=[-1]),
    case("ReduceProd", ("axes", i64(1, 3)), opset=18, keepdims=0),
    case("ReduceSumSquare", ("axes", i64(1)), opset=18),
    case("ReduceLogSumExp", ("axes", i64(1)), opset=18),
    case("ReduceLogSum", ("axes", i64(2)), x=np.abs(X4) + 0.1, opset=18),
    # Slice: inputs from opset 10 (attributes before), negative axes and steps, clamped ends
    sliced((1, -1), (BIG, -5), (1, -1), (1, -2), id="Slice-negative-axis-and-step"),
    sliced((-1,), (SMALL,), (2,), (-1,), id="Slice-reversed"),
    sliced((0, 1), (2, 100), id="Slice-default-axes"),
    sliced((10,), (-10,), (-1,), (-3,), id="Slice-clamped"),
    case("Slice", opset=9, starts=[1], ends=[-1], axes=[3]),
    # Resize: nearest and its roundings, linear, cubic, the coordinate modes, opsets 10 to 19
    resized(10, scales=(1, 1, 2, 2), mode="nearest", id="Resize-10"),
    resized(
        11,
        scales=(1, 1, 2, 3),
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
        id="Resize-11-as-torch-upsamples",
    ),
    resized(13, sizes=(2, 4, 3, 3), id="Resize-13-nearest-ties"),  # round_prefer_floor
    resized(13, sizes=(2, 4, 7, 9), nearest_mode="round_prefer_ceil", id="Resize-13-ceil"),
    resized(
        13,
        scales=(1, 1, 2, 2),
        coordinate_transformation_mode="align_corners",
        nearest_mode="ceil",
        id="Resize-13-nearest-align",
    ),
    resized(13, scales=(1, 1, 2, 1.5), mode="linear", id="Resize-13-linear"),
    resized(
        13,
        sizes=(2, 4, 3, 4),
        mode="linear",
        coordinate_transformation_mode="align_corners",
        id="Resize-13-linear-align",
    ),
    resized(
        13,
        scales=(1, 1, 0.6, 1.7),
        mode="linear",
        coordinate_transformation_mode="pytorch_half_pixel",
        id="Resize-13-linear-pytorch",
    ),
    resized(
        13,
        scales=(1, 1, 2, 2),
        mode="linear",
        coordinate_transformation_mode="asymmetric",
        id="Resize-13-linear-asymmetric",
    ),
    resized(13, scales=(1, 1, 2, 2), mode="cubic", id="Resize-13-cubic"),
    resized(
        13,
        scales=(1, 1, 1.5, 0.5),
        mode="cubic",
        exclude_outside=1,
        cubic_coeff_a=-0.5,
        id="Resize-13-cubic-exclude",
    ),
    resized(
        18,
        sizes=(12, 8),
        axes=[2, 3],
        keep_aspect_ratio_policy="not_larger",
        id="Resize-18-axes-aspect",
    ),
    resized(
        19,
        scales=(1.7, 2.5),
        axes=[2, 3],
        mode="linear",
        coordinate_transformation_mode="half_pixel_symmetric",
        id="Resize-19-symmetric",
    ),
    # Pad: pads as attribute before 11, as input from 11, the modes, axes (18)
    case("Pad", opset=10, pads=[0, 0, 1, 2, 0, 0, 2, 1], value=0.5),
    padded((0, 0, 1, 0, 0, 1, 0, 2), value=-1, opset=11, id="Pad-11"),
    padded((0, 0, 2, 1, 0, 0, 1, 2), mode="reflect", id="Pad-reflect"),
    padded((0, 0, 2, 1, 0, 0, 1, 2), mode="edge", id="Pad-edge"),
    padded((1, 2, 2, 1), axes=(-2, -1), opset=19, mode="wrap", id="Pad-19-wrap-axes"),
    padded((0, 0, -1, 1, 0, 0, 1, -2), id="Pad-negative"),
    # Softmax: over all axes from ``axis`` on before 13, over one axis from 13
    case("Softmax", x=X3, opset=11, axis=1),
    case("Softmax", x=X3, opset=13, axis=1),
    case("LogSoftmax", x=X3, opset=11),
    case("LogSoftmax", x=X3, opset=13),
    # layers: Gemm and MatMul as Linear, Conv variants, normalisations
    case("Gemm", ("w", w(3, 4)), ("b", f32(1, 2, 3)), x=X2[:, :4], transB=1, id="Gemm-layer"),
    case("Gemm", ("w", w(4, 3)), x=X2[:, :4], id="Gemm-layer-untransposed"),
    case(
        "Gemm",
        ("w", w(3, 2)),
        ("c", w(6, 2)),
        x=X2,
        transA=1,
        alpha=0.5,
        beta=2.0,
        id="Gemm-function",
    ),
    case("MatMul", ("w", w(6, 4)), x=X3, id="MatMul-layer-3d"),
    case("MatMul", ("w", w(2, 6, 3)), x=X3, id="MatMul-function-batched"),
    case(
        "Conv",
        ("w", w(2, 2, 3, 3)),
        ("b", f32(1, 2)),
        group=2,
        pads=[1, 1, 1, 1],
        id="Conv-grouped",
    ),
    case("Conv", ("w", w(4, 1, 3, 3)), group=4, strides=[2, 2], id="Conv-depthwise"),
    case("Conv", ("w", w(3, 4, 2, 3)), pads=[0, 1, 1, 2], id="Conv-asymmetric"),
    case("Conv", ("w", w(3, 4, 3, 3)), strides=[2, 2], auto_pad="SAME_UPPER", id="Conv-same"),
    case("Conv", ("w", w(3, 4, 2, 2)), auto_pad="SAME_LOWER", strides=[1, 2], id="Conv-same-lower"),
    case("Conv", ("w", w(3, 5, 3)), x=X3, pads=[1, 1], id="Conv-1d"),
    case(
        "ConvTranspose",
        ("w", w(4, 3, 3, 3)),
        ("b", f32(1, 2, 3)),
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        output_padding=[1, 0],
        id="ConvTranspose-layer",
    ),
    case("ConvTranspose", ("w", w(4, 1, 3, 3)), group=2, id="ConvTranspose-grouped"),
    case("ConvTranspose", ("w", w(4, 2, 3, 3)), pads=[0, 1, 1, 0], id="ConvTranspose-asymmetric"),
    case(
        "BatchNormalization",
        *[(n, np.abs(w(4)) + 0.5) for n in "sbmv"],
        epsilon=1e-3,
        id="BatchNormalization-4d",
    ),
    case(
        "BatchNormalization",
        *[(n, np.abs(w(6)) + 0.5) for n in "sbmv"],
        x=X2,
        opset=15,
        id="BatchNormalization-2d",
    ),
    case("LayerNormalization", ("s", w(6)), ("b", w(6)), x=X3, opset=17),
    case("LayerNormalization", ("s", w(5, 6)), x=X3, opset=17, axis=1, id="LayerNorm-axis1"),
    case("InstanceNormalization", ("s", f32(1, 2, 3, 4)), ("b", f32(0, 1, 0, 1))),
    # pooling
    case("MaxPool", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    case(
        "MaxPool",
        kernel_shape=[2, 3],
        strides=[2, 2],
        pads=[1, 0, 0, 1],
        ceil_mode=1,
        id="MaxPool-asymmetric",
    ),
    case("MaxPool", kernel_shape=[2, 2], dilations=[2, 1], id="MaxPool-dilated"),
    case("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    case(
        "AveragePool",
        kernel_shape=[3, 3],
        pads=[1, 1, 1, 1],
        count_include_pad=1,
        id="AveragePool-include",
    ),
    case(
        "AveragePool",
        kernel_shape=[3, 2],
        strides=[2, 2],
        pads=[0, 1, 2, 0],
        id="AveragePool-asymmetric",
    ),
    case("GlobalAveragePool"),
    case("GlobalMaxPool"),
    # activations
    case("HardSwish", opset=14),
    case("HardSigmoid", alpha=0.3, beta=0.4),
    case("Gelu", opset=20),
    case("Gelu", opset=20, approximate="tanh", id="Gelu-20-tanh"),
    case("Erf"),
    case("Sigmoid"),
    case("Tanh"),
    case("Relu"),
    case("LeakyRelu", alpha=0.2),
    case("Elu", alpha=0.7),
    case("Selu"),
    case("Celu", opset=12, alpha=2.0),
    case("Softplus"),
    case("Softsign"),
    case("Mish", opset=18),
    case("PRelu", ("slope", f32(0.1, 0.2, 0.3, 0.4).reshape(4, 1, 1))),
    # arithmetic
    case("Sqrt", x=np.abs(X4)),
    case("Pow", ("e", f32(2.0)[0])),
    case("Pow", ("e", np.int64(3)), id="Pow-int-exponent"),
    case("Div", ("d", i64(3, -2, 4)), x=i64(7, 7, -7), out=INT64, id="Div-int"),
    case("Mod", ("d", i64(3, -3, 4)), x=i64(7, 7, -7), out=INT64, id="Mod-int"),
    case("Mod", ("d", f32(3, -3, 4)), x=f32(7.5, 7.5, -7.5), fmod=1, id="Mod-fmod"),
    case("Einsum", ("w", w(6, 3)), x=X3, equation="bij,jk->bik", opset=12),
    case("Round", x=f32(0.5, 1.5, 2.5, -0.5, 1.2)),
    case("Max", ("a", X4[0]), ("b", f32(0)[0])),
    case("Mean", ("a", X4[1])),
    # comparisons, selection, shapes
    chain(
        nodes(("Greater", ["x", "z"], ["c"]), ("Where", ["c", "x", "w"], ["y"])),
        constants={"z": f32(0)[0], "w": f32(-1)[0]},
        id="Greater-Where",
    ),
    chain(
        nodes(("Equal", ["x", "k"], ["e"]), ("Not", ["e"], ["y"])),
        x=i64(1, 2, 3),
        constants={"k": i64(2)},
        out=BOOL,
        id="Equal-Not",
    ),
    chain(
        nodes(
            ("Shape", ["x"], ["s"]),
            ("ConstantOfShape", ["s"], ["c"], {"value": numpy_helper.from_array(f32(2))}),
            ("Mul", ["x", "c"], ["y"]),
        ),
        id="Shape-ConstantOfShape",
    ),
    chain(
        nodes(("Range", ["start", "limit", "delta"], ["r"]), ("Add", ["x", "r"], ["y"])),
        x=i64(*range(4)),
        out=INT64,
        id="Range",
        constants={"start": np.int64(5), "limit": np.int64(-3), "delta": np.int64(-2)},
    ),
    case("Expand", ("shape", i64(3, 1, 1, 6)), x=X4[:1, :, :, :1], id="Expand-both-ways"),
    case("Gather", ("i", i64(-1, 0, 2)), axis=1),
    case("GatherElements", ("i", i64(-1, 0, 2, 1, 0, -2).reshape(3, 2)), x=X2, axis=1),
    case("Transpose", perm=[0, 2, 3, 1]),
    case("Tile", ("r", i64(1, 2, 1, 3))),
    case("CumSum", ("axis", np.int64(-1)), exclusive=1, reverse=1),
    case("ArgMax", x=f32(1, 3, 3, 2), out=INT64, select_last_index=1, keepdims=0),
    case("Shape", x=X4, opset=15, start=1, end=-1, out=INT64),
    case("Squeeze", x=X4[:, :1], opset=11, axes=[1]),
    case("Squeeze", ("axes", i64(-3)), x=X4[:, :1], opset=13),
    case("Unsqueeze", x=X3, opset=11, axes=[0, -1]),
    case("Unsqueeze", ("axes", i64(3, 1)), x=X3, opset=13),
    case("Flatten", axis=0),
    case("Flatten", axis=-1, id="Flatten-last"),
    case("Flatten", axis=4, id="Flatten-rank"),
    case("Cast", x=X4 * 3, to=TensorProto.INT64, out=INT64),
]


# The cases whose node becomes a torch layer (Torch-Pruning can shrink it); the others run as
# functions: Gemm with a transposed input or alpha, MatMul by a 3-D weight, ConvTranspose with
# asymmetric pads.
LAYERS = {
    "Gemm-layer": nn.Linear,
    "Gemm-layer-untransposed": nn.Linear,
    "MatMul-layer-3d": nn.Linear,
    "Conv-grouped": nn.Conv2d,
    "Conv-depthwise": nn.Conv2d,
    "Conv-asymmetric": nn.Conv2d,
    "Conv-same": nn.Conv2d,
    "Conv-same-lower": nn.Conv2d,
    "Conv-1d": nn.Conv1d,
    "ConvTranspose-layer": nn.ConvTranspose2d,
    "ConvTranspose-grouped": nn.ConvTranspose2d,
    "BatchNormalization-4d": nn.BatchNorm2d,
    "BatchNormalization-2d": nn.BatchNorm1d,
    "LayerNormalization-17": nn.LayerNorm,
    "LayerNorm-axis1": nn.LayerNorm,
}


@pytest.mark.parametrize(("nodes", "x", "constants", "opset", "out"), CASES)
def test_operator_matches_onnxruntime(request, nodes, x, constants, opset, out):
    model = graph(nodes, x, constants, opset, out)
    session = ort.InferenceSession(model.to_bytes(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    module = to_torch(model)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    layer = LAYERS.get(request.node.callspec.id)
    assert [type(m) for m in module.layers.values()] == ([layer] if layer else [])


def test_an_operator_without_pytorch_code_is_named_with_its_node():
    node = helper.make_node("NonMaxSuppression", ["x", "x"], ["y"], name="nms_3")
    with pytest.raises(ModelError) as error:
        to_torch(graph([node], X3, out=INT64))
    assert str(error.value) == (
        "model 'op' uses ONNX operator NonMaxSuppression (node 'nms_3') that thrifty cannot run "
        "in PyTorch: profile, pack, predict and int8 quantization still work (they run the graph "
        "in ONNX Runtime); techniques that fine-tune need PyTorch"
    )


def test_operators_of_other_domains_and_unsupported_modes_are_named():
    contrib = helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft", name="g")
    with pytest.raises(ModelError, match=r"operator com\.microsoft\.Gelu \(node 'g'\)"):
        to_torch(graph([contrib], X3))
    resize = helper.make_node("Resize", ["x", "", "s"], ["y"], antialias=1, mode="linear")
    model = graph([resize], X4, {"s": f32(1, 1, 0.5, 0.5)}, opset=18)
    with pytest.raises(ModelError, match="operator Resize with antialias=1 \\(node 'y'\\)"):
        to_torch(model)

"""ONNX graphs as trainable PyTorch modules, checked against ONNX Runtime on the same graph, and
their weights written back. Each operator's variants: test_onnx_ops.py."""

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import thrifty as th
from thrifty.errors import ModelError
from thrifty.models.onnx_torch import with_weights

SHAPES = {
    "lenet-300-100": (1, 28, 28),
    "lenet-5": (1, 28, 28),
    "mlp-2048": (1, 28, 28),
    "tabular-mlp": (30,),
}


def from_file(model: th.Model, tmp_path) -> th.Model:
    model.save(tmp_path / "m.onnx")
    return th.load(tmp_path / "m.onnx")


@pytest.mark.parametrize("name", SHAPES)
def test_zoo_graphs_match_onnxruntime(tmp_path, name):
    shape = SHAPES[name]
    model = from_file(th.load(th.models.build(name, shape, 10), input_shape=shape), tmp_path)
    x = np.random.default_rng(0).random((6, *shape), dtype=np.float32)
    with torch.no_grad():
        out = th.models.to_torch(model)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, th.open_session(model).run(x), rtol=1e-5, atol=1e-6)


def test_weights_are_parameters_that_train(tmp_path, digits):
    model = from_file(
        th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,)), tmp_path
    )
    module = th.models.to_torch(model)
    parameters = list(module.parameters())
    assert sum(p.numel() for p in parameters) == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    x, y = torch.from_numpy(digits.train.x), torch.from_numpy(digits.train.y)
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0] / 2


def test_unpack_to_torch(tmp_path):
    model = th.load(th.models.build("lenet-5", (1, 28, 28), 10), input_shape=(1, 28, 28))
    th.pack(model, tmp_path / "m.thrifty")
    module = th.unpack(tmp_path / "m.thrifty", to="torch")
    x = np.random.default_rng(1).random((4, 1, 28, 28), dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(
            module(torch.from_numpy(x)).numpy(), th.open_session(model).run(x), rtol=1e-5, atol=1e-6
        )
    with pytest.raises(ModelError, match="choose 'onnx' or 'torch'"):
        th.unpack(tmp_path / "m.thrifty", to="tflite")


def graph_model(nodes, initializers, inputs=("x",), shape=(None, 4), opset=13) -> th.Model:
    values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in inputs]
    weights = [numpy_helper.from_array(value, name) for name, value in initializers.items()]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])
    graph = helper.make_graph(nodes, "g", values, [output], weights)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    return th.load(proto, name="g")


def agree(model: th.Model, module, x: np.ndarray) -> None:
    with torch.no_grad():
        expected = module.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(th.open_session(model).run(x), expected, rtol=1e-5, atol=1e-6)


def test_a_matmul_weight_goes_back_transposed():
    """MatMul's weight is stored (in, out); nn.Linear holds it (out, in)."""
    rng = np.random.default_rng(0)
    weight, bias = rng.standard_normal((4, 3), dtype=np.float32), np.ones(3, np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["y"]),
    ]
    model = graph_model(nodes, {"w": weight, "b": bias})
    module = th.models.to_torch(model)
    (linear,) = module.layers.values()
    assert isinstance(linear, nn.Linear) and linear.weight.shape == (3, 4)
    with torch.no_grad():
        linear.weight.mul_(2)
        next(iter(module.weights.values())).add_(1)
    written = with_weights(model, module)
    shapes = {t.name: tuple(t.dims) for t in written.proto.graph.initializer}
    assert shapes == {"w": (4, 3), "b": (3,)}
    agree(written, module, rng.standard_normal((5, 4), dtype=np.float32))


def test_an_initializer_two_layers_share_splits_only_where_it_changed():
    """Exporters merge equal initializers, reading them through Identity nodes; layers hold
    their own copies, and each that changed gets its own initializer."""
    rng = np.random.default_rng(1)
    w1, w2 = (rng.standard_normal((4, 4), dtype=np.float32) for _ in range(2))
    nodes = [
        helper.make_node("Identity", ["zeros"], ["b1"]),
        helper.make_node("Identity", ["zeros"], ["b2"]),
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["y"], transB=1),
    ]
    model = graph_model(nodes, {"w1": w1, "w2": w2, "zeros": np.zeros(4, np.float32)})
    module = th.models.to_torch(model)
    assert not list(module.weights)  # the Identity nodes only carried the layers' biases
    first, second = module.layers.values()
    with torch.no_grad():
        second.bias.fill_(0.5)
    written = with_weights(model, module)
    names = {t.name for t in written.proto.graph.initializer}
    assert names == {"w1", "w2", "zeros", "y.bias"}
    assert [n.op_type for n in written.proto.graph.node] == ["Identity", "Gemm", "Gemm"]
    agree(written, module, rng.standard_normal((5, 4), dtype=np.float32))
    with torch.no_grad():
        first.bias.fill_(-1)
    names = {t.name for t in with_weights(model, module).proto.graph.initializer}
    assert names == {"w1", "w2", "h.bias", "y.bias"}  # nothing reads the shared one now


def test_a_graph_of_two_inputs_takes_them_in_order_or_by_name():
    nodes = [helper.make_node("Sub", ["x", "mask"], ["y"])]
    module = th.models.to_torch(graph_model(nodes, {}, inputs=("x", "mask")))
    x, mask = torch.ones(2, 4), torch.full((2, 4), 3.0)
    assert torch.equal(module(x, mask), x - mask)
    assert torch.equal(module(mask=mask, x=x), x - mask)

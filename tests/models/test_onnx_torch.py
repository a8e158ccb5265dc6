"""ONNX graphs as trainable PyTorch modules, checked against ONNX Runtime on the same graph."""

import numpy as np
import onnx
import pytest
import torch
from onnx import helper

import thrifty as th
from thrifty.errors import ModelError

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


def test_unsupported_operators_are_named():
    node = helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,ij->ij")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 3])],
    )
    model = th.Model(proto=helper.make_model(graph), name="einsum", source="test")
    with pytest.raises(ModelError, match=r"\['Einsum'\]"):
        th.models.to_torch(model)

"""Channels removes whole neurons and convolution channels: the layers shrink, the graph agrees."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

import thrifty as th
from thrifty.compress import Channels, FineTune, Prune, Recipe
from thrifty.datasets.rows import from_rows
from thrifty.errors import DataError

FAST = FineTune(epochs=2)


def shapes(module, kind) -> list[tuple[int, ...]]:
    return [tuple(layer.weight.shape) for layer in module.modules() if isinstance(layer, kind)]


@pytest.fixture(scope="module")
def halved(digits, digits_baseline):
    return th.compress(digits_baseline, [Channels(0.5)], digits, finetune=FAST)


def test_mlp_layers_lose_half_their_neurons_and_keep_the_classes(halved):
    """tabular-mlp is 64-128-64-10: the hidden layers halve, the ten outputs stay."""
    assert shapes(halved.module, nn.Linear) == [(64, 64), (32, 64), (10, 32)]
    assert halved.metadata["recipe"] == "channels:0.5"


def test_the_exported_graph_is_smaller_and_computes_what_the_module_does(
    digits, digits_baseline, halved
):
    onnx.checker.check_model(halved.proto, full_check=True)
    # 6,570 parameters left of 17,226 (38%); the graph's own bytes add a little
    assert len(halved.to_bytes()) < 0.45 * len(digits_baseline.to_bytes())
    session = ort.InferenceSession(halved.to_bytes(), providers=["CPUExecutionProvider"])
    got = session.run(None, {halved.input_name: digits.test.x})[0]
    with torch.no_grad():
        expected = halved.module(torch.from_numpy(digits.test.x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_accuracy_recovers_after_fine_tuning(digits, digits_baseline, halved, accuracy):
    assert accuracy(halved, digits) >= accuracy(digits_baseline, digits) - 0.05


def test_convolution_channels_shrink_and_the_classifier_follows():
    """LeNet-5: conv 20 and 50 channels become 10 and 25; fc1 reads 25x4x4 and keeps 250."""
    rng = np.random.default_rng(0)
    images = from_rows(
        "noise",
        rng.random((100, 1, 28, 28), dtype=np.float32),
        np.arange(100) % 10,
        seed=0,
        source="test",
    )
    module = th.models.build("lenet-5", (1, 28, 28), 10)
    result = th.compress(module, [Channels(0.5)], images, finetune=FineTune(epochs=0))
    assert shapes(result.module, nn.Conv2d) == [(10, 1, 5, 5), (25, 10, 5, 5)]
    assert shapes(result.module, nn.Linear) == [(250, 400), (10, 250)]
    session = ort.InferenceSession(result.to_bytes(), providers=["CPUExecutionProvider"])
    x = images.test.x
    with torch.no_grad():
        expected = result.module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("ratio", [1.0, -0.1, 1.5, float("nan")])
def test_ratios_outside_zero_to_one_are_refused(ratio):
    with pytest.raises(DataError, match="channels ratio"):
        Channels(ratio)


def test_recipe_text_names_channels():
    assert Recipe.parse("prune:0.5,channels:0.25").steps == (Prune(0.5), Channels(0.25))
    with pytest.raises(DataError):
        Recipe.parse("channels:1")


@pytest.mark.parametrize("name", ["tabular-mlp", "lenet-5"])
def test_an_onnx_file_shrinks_too(tmp_path, name):
    """Gemm and Conv nodes of a file become real layers, so Torch-Pruning can cut them; the
    smaller weights go back into the same graph, which still runs and agrees."""
    shape, rows = ((64,), 200) if name == "tabular-mlp" else ((1, 28, 28), 60)
    rng = np.random.default_rng(0)
    x = rng.random((rows, *shape), dtype=np.float32)
    data = from_rows("random", x, rng.integers(0, 10, rows), 0, source="test")
    model = th.load(th.models.build(name, shape, 10), input_shape=shape)
    model.save(tmp_path / "m.onnx")
    small = th.compress(
        th.load(tmp_path / "m.onnx"), [Channels(0.5)], data, finetune=FineTune(epochs=0)
    )
    before = {t.name: tuple(t.dims) for t in model.proto.graph.initializer}
    after = {t.name: tuple(t.dims) for t in small.proto.graph.initializer}
    assert sum(np.prod(d) for d in after.values()) < 0.4 * sum(np.prod(d) for d in before.values())
    assert after[list(after)[-2]][0] == 10  # the output layer keeps its ten classes
    onnx.checker.check_model(small.proto)
    out = th.open_session(small).run(data.test.x)
    assert out.shape == (len(data.test), 10)
    np.testing.assert_allclose(
        out, th.open_session(small, "torch").run(data.test.x), rtol=1e-5, atol=1e-5
    )

"""Models from exporters other than thrifty's own: a ResNet-18 and a MobileNetV2 (depthwise
convolutions, ReLU6, HardSwish, residual adds, global pooling) exported by ``torch.onnx`` at
opsets 13 and 17, and scikit-learn's MatMul + Add graphs, run in PyTorch, shrunk by channel
pruning and quantized, each result checked in ONNX Runtime."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import thrifty as th
from conformance import nets
from conformance.nets import EXPORTS, NETS
from thrifty.compress import Channels, FineTune, Scans
from thrifty.compress.channels import channels
from thrifty.compress.registry import Context
from thrifty.datasets.rows import from_rows
from thrifty.models.onnx_torch import to_torch, with_weights

NO_TUNING, ONE_EPOCH = FineTune(epochs=0), FineTune(epochs=1)
CASES = [(net, export) for net in NETS for export in EXPORTS]


def images(fashion, rows: int):
    """The first ``rows`` Fashion-MNIST images, split into train, validation and test."""
    x, y = fashion.train.x[:rows], fashion.train.y[:rows]
    return from_rows(f"fashion-{rows}", x, y, 0, source="test")


@pytest.fixture(scope="module")
def data(fashion):
    return images(fashion, 400)


@pytest.fixture(scope="module")
def exported():
    """exported(net, export): the network, randomly initialised, as an ONNX file's Model."""
    cache = {}

    def get(net: str, export: str) -> th.Model:
        if (net, export) not in cache:
            torch.manual_seed(0)
            cache[net, export] = th.load(nets.export(NETS[net](), export), name=net)
        return cache[net, export]

    return get


def onnxruntime(model: th.Model, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.to_bytes(), providers=["CPUExecutionProvider"])
    return session.run(None, {model.input_name: x})[0]


def weights(model: th.Model) -> int:
    return sum(int(np.prod(t.dims)) for t in model.proto.graph.initializer)


@pytest.mark.parametrize(("net", "export"), CASES)
def test_the_module_computes_what_onnxruntime_does(exported, net, export):
    model = exported(net, export)
    module = to_torch(model)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)  # not the export's 2
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, onnxruntime(model, x), rtol=1e-4, atol=1e-5)
    nodes = [n.op_type for n in model.proto.graph.node]
    kinds = [type(layer).__name__ for layer in module.layers.values()]
    assert kinds.count("Conv2d") == nodes.count("Conv") and kinds.count("Linear") == 1
    assert kinds.count("BatchNorm2d") == nodes.count("BatchNormalization")
    if net == "mobilenet_v2":
        assert any(layer.groups > 1 for layer in module.layers.values() if hasattr(layer, "groups"))


@pytest.mark.parametrize(("net", "export"), CASES)
def test_channels_shrink_the_graph_which_still_runs(exported, data, net, export):
    model = exported(net, export)
    small = th.compress(model, "channels:0.5", data, finetune=NO_TUNING)
    onnx.checker.check_model(small.proto)
    assert weights(small) < 0.4 * weights(model)  # half the channels: about a quarter the weights
    assert onnxruntime(small, data.test.x).shape == (len(data.test), 10)
    read = {name for node in small.proto.graph.node for name in node.input}
    assert {t.name for t in small.proto.graph.initializer} <= read  # nothing left behind


@pytest.mark.parametrize(("net", "export"), CASES)
def test_int8_static_quantization_runs(exported, data, net, export):
    quantized = th.compress(exported(net, export), "quantize:int8-static", data)
    assert onnxruntime(quantized, data.test.x).shape == (len(data.test), 10)


def test_fine_tuned_pruned_weights_go_back_into_the_graph(exported, fashion):
    """After pruning and a fine-tuning epoch (BatchNorm's statistics move too), the graph
    computes what the module does: depthwise groups, shared initializers and all."""
    data = images(fashion, 100)  # one batch: a depthwise network trains slowly on a CPU
    model = exported("mobilenet_v2", "opset17-batchnorm")
    module = to_torch(model)
    context = Context(data, None, ONE_EPOCH, lambda text: None, Scans(), None, False)
    channels(module, Channels(0.5), context)
    result = with_weights(model, module.eval())
    with torch.no_grad():
        expected = module(torch.from_numpy(data.test.x)).numpy()
    np.testing.assert_allclose(onnxruntime(result, data.test.x), expected, rtol=1e-4, atol=1e-4)
    groups = [a.i for n in result.proto.graph.node for a in n.attribute if a.name == "group"]
    depthwise = [m for m in module.layers.values() if getattr(m, "groups", 1) > 1]
    assert sorted(g for g in groups if g > 1) == sorted(m.groups for m in depthwise)


def test_a_scikit_learn_matmul_graph_shrinks(tmp_path, digits):
    """skl2onnx exports MatMul + Add: the MatMuls become Linear layers (their (in, out)
    weights transposed), the Adds' intercepts shrink with them."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    classifier = MLPClassifier((16,), max_iter=20, random_state=0).fit(
        digits.train.x, digits.train.y
    )
    proto = to_onnx(classifier, digits.train.x[:1], options={"zipmap": False})
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    model = th.load(tmp_path / "m.onnx")
    layers = to_torch(model).layers.values()
    assert [tuple(layer.weight.shape) for layer in layers] == [(16, 64), (10, 16)]
    small = th.compress(model, [Channels(0.5)], digits, finetune=FineTune(epochs=2))
    shapes = {t.name: tuple(t.dims) for t in small.proto.graph.initializer}
    assert shapes["coefficient"] == (64, 8) and shapes["intercepts"] == (1, 8)
    assert shapes["coefficient1"] == (8, 10)  # the output layer keeps its ten classes
    probabilities = th.open_session(small).run(digits.test.x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)

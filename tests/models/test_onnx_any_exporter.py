"""Models from exporters other than thrifty's own: a ResNet-18 and a MobileNetV2 (depthwise
convolutions, ReLU6, HardSwish, residual adds, global pooling) exported by ``torch.onnx`` at
opsets 13 and 17, and scikit-learn's MatMul + Add graphs, run in PyTorch, shrunk by channel
pruning and quantized, each result checked in ONNX Runtime."""

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

import thrifty as th
from thrifty.compress import Channels, FineTune
from thrifty.compress.channels import channels
from thrifty.compress.prune import Scans
from thrifty.compress.registry import Context
from thrifty.datasets.rows import from_rows
from thrifty.models.onnx_torch import to_torch, with_weights

NO_TUNING, ONE_EPOCH = FineTune(epochs=0), FineTune(epochs=1)


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False),
            nn.BatchNorm2d(outputs),
            nn.ReLU(),
            nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False),
            nn.BatchNorm2d(outputs),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet18(width: int = 8, classes: int = 10) -> nn.Module:
    """He et al. 2016's ResNet-18 (four stages of two basic blocks) for 1x28x28 images."""
    layers = [nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    inputs = width
    for stage in range(4):
        outputs = width * 2**stage
        layers += [
            BasicBlock(inputs, outputs, 1 if stage == 0 else 2),
            BasicBlock(outputs, outputs, 1),
        ]
        inputs = outputs
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inputs, classes)]
    return nn.Sequential(*layers)


def conv_bn(inputs: int, outputs: int, kernel: int, stride: int = 1, groups: int = 1) -> list:
    return [
        nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(outputs),
    ]


class InvertedResidual(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = inputs * expand
        self.residual = stride == 1 and inputs == outputs
        self.body = nn.Sequential(
            *([*conv_bn(inputs, hidden, 1), nn.ReLU6()] if expand != 1 else []),
            *conv_bn(hidden, hidden, 3, stride, groups=hidden),  # depthwise
            nn.ReLU6(),
            *conv_bn(hidden, outputs, 1),
        )

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def mobilenet_v2(width: float = 0.25, classes: int = 10) -> nn.Module:
    """Sandler et al. 2018's MobileNetV2 (expansion, channels, repeats, stride per stage),
    narrowed by ``width``, with a HardSwish head as in MobileNetV3, for 1x28x28 images."""
    stages = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    channels_of = lambda n: max(8, int(n * width) // 8 * 8)  # noqa: E731
    inputs = channels_of(32)
    layers = [*conv_bn(1, inputs, 3, stride=2), nn.ReLU6()]
    for expand, outputs, repeats, stride in stages:
        for i in range(repeats):
            layers.append(
                InvertedResidual(inputs, channels_of(outputs), stride if i == 0 else 1, expand)
            )
            inputs = channels_of(outputs)
    layers += [
        *conv_bn(inputs, 64, 1),
        nn.Hardswish(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(64, classes),
    ]
    return nn.Sequential(*layers)


NETS = {"resnet18": resnet18, "mobilenet_v2": mobilenet_v2}
# opset 13 as torch.onnx exports by default (BatchNorm folded into the convolutions); opset 17
# without constant folding, so BatchNormalization nodes stay, their initializers shared through
# Identity nodes wherever values repeat
EXPORTS = {"opset13": (13, True), "opset17-batchnorm": (17, False)}
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
            module = NETS[net]().eval()
            opset, fold = EXPORTS[export]
            buffer = io.BytesIO()
            torch.onnx.export(
                module,
                torch.zeros(2, 1, 28, 28),
                buffer,
                dynamo=False,
                opset_version=opset,
                do_constant_folding=fold,
                input_names=["input"],
                output_names=["scores"],
                dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}},
            )
            cache[net, export] = th.load(onnx.load_from_string(buffer.getvalue()), name=net)
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

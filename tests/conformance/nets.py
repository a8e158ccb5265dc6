"""Modern CNNs as users write them, in plain PyTorch, for 1x28x28 images: a ResNet-18 and a
MobileNetV2 (BatchNorm, depthwise convolutions, ReLU6, HardSwish, residual adds, global pooling),
and how ``torch.onnx`` exports them."""

import io

import onnx
import torch
from torch import nn


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


def export(module: nn.Module, how: str) -> onnx.ModelProto:
    """``module`` exported by ``torch.onnx`` as ``EXPORTS[how]`` says, any batch size."""
    opset, fold = EXPORTS[how]
    buffer = io.BytesIO()
    torch.onnx.export(
        module.eval(),
        torch.zeros(2, 1, 28, 28),
        buffer,
        dynamo=False,
        opset_version=opset,
        do_constant_folding=fold,
        input_names=["input"],
        output_names=["scores"],
        dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}},
    )
    return onnx.load_from_string(buffer.getvalue())

"""The reference zoo: the models the field's compression papers measure, plus a tabular MLP.

Layer names (``fc1``, ``conv1``, ...) become the ONNX initializer names, so per-layer reports
read the same in PyTorch and in the exported graph.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from math import prod
from typing import TYPE_CHECKING

from torch import nn

from thrifty.errors import DataMismatch, UnknownModel

if TYPE_CHECKING:
    from thrifty.datasets.preprocess import Step


def lenet_300_100(input_shape: tuple[int, ...], outputs: int) -> nn.Module:
    """LeCun et al. 1998; Deep Compression's LeNet-300-100: 784-300-100-10, 266,610 parameters."""
    return _mlp(prod(input_shape), (300, 100), outputs)


def mlp_2048(input_shape: tuple[int, ...], outputs: int) -> nn.Module:
    """784-2048-2048-10: the compute-heavy model, where runtime and quantization choices show."""
    return _mlp(prod(input_shape), (2048, 2048), outputs)


def tabular_mlp(input_shape: tuple[int, ...], outputs: int) -> nn.Module:
    """A small MLP for rows of measurements (credit, clinical, logistics): in-128-64-out."""
    return _mlp(prod(input_shape), (128, 64), outputs)


def lenet_5(input_shape: tuple[int, ...], outputs: int) -> nn.Module:
    """Caffe's LeNet-5 as in Deep Compression: conv 20 and 50 (5x5, each max-pooled), fc 500.

    431,080 parameters for 1x28x28 inputs and 10 classes.
    """
    if len(input_shape) != 3 or min(input_shape[1:]) < 16:
        raise DataMismatch(
            f"LeNet-5 needs images shaped (channels, height, width) of at least 16x16, "
            f"got samples of shape {input_shape}; use lenet-300-100 or tabular-mlp for this data"
        )
    channels, height, width = input_shape
    side = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
    layers = OrderedDict(
        conv1=nn.Conv2d(channels, 20, 5),
        relu1=nn.ReLU(),
        pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(20, 50, 5),
        relu2=nn.ReLU(),
        pool2=nn.MaxPool2d(2),
        flatten=nn.Flatten(),
        fc1=nn.Linear(50 * side[0] * side[1], 500),
        relu3=nn.ReLU(),
        fc2=nn.Linear(500, outputs),
    )
    return nn.Sequential(layers)


def _mlp(inputs: int, hidden: tuple[int, ...], outputs: int) -> nn.Module:
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    widths = (inputs, *hidden)
    for index, (width_in, width_out) in enumerate(zip(widths, widths[1:], strict=False), start=1):
        layers[f"fc{index}"] = nn.Linear(width_in, width_out)
        layers[f"relu{index}"] = nn.ReLU()
    layers[f"fc{len(widths)}"] = nn.Linear(widths[-1], outputs)
    return nn.Sequential(layers)


ZOO: dict[str, Callable[[tuple[int, ...], int], nn.Module]] = {
    "lenet-300-100": lenet_300_100,
    "lenet-5": lenet_5,
    "mlp-2048": mlp_2048,
    "tabular-mlp": tabular_mlp,
}


def build(
    name: str,
    input_shape: tuple[int, ...],
    outputs: int,
    *,
    steps: Sequence[Step] = (),
    seed: int = 0,
) -> nn.Module:
    """A freshly initialised zoo model for samples of ``input_shape`` and ``outputs`` outputs.

    ``steps``: the preprocessing it applies first, in its graph (a data set's
    ``training_steps``), so that it takes the rows as the user gives them.
    """
    import torch

    from thrifty.models.preprocessing import with_preprocessing

    if name not in ZOO:
        raise UnknownModel(f"unknown model {name!r}: the zoo has {', '.join(sorted(ZOO))}")
    torch.manual_seed(seed)
    return with_preprocessing(ZOO[name](tuple(input_shape), outputs), steps)

"""The preprocessing a model thrifty trains applies to its own inputs, as its first layer.

Inside the graph, the steps ship with the model: every ONNX file thrifty writes from it takes the
raw rows the user gave, and a runtime outside thrifty needs nothing else to use it. The steps'
numbers are buffers, not parameters: training leaves them alone, and pruning and sharing, which
act on parameters, never see them.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from thrifty.datasets.preprocess import Scale, Standardize, Step

LAYER = "inputs"  # the first layer's name: its nodes read /inputs/... in the graph


class Scaled(nn.Module):
    def __init__(self, step: Scale) -> None:
        super().__init__()
        self.factor = step.factor

    def forward(self, x):
        return x * self.factor


class Standardized(nn.Module):
    def __init__(self, step: Standardize) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(step.mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(step.std, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


LAYERS = {Scale: Scaled, Standardize: Standardized}


class Preprocessing(nn.Sequential):
    """The steps as one layer, which remembers them: an export records them in the graph's
    metadata (``thrifty.preprocessing``), so a report can say what the model does first."""

    def __init__(self, steps: Sequence[Step]) -> None:
        named = OrderedDict((step.to_dict()["step"], LAYERS[type(step)](step)) for step in steps)
        super().__init__(named)  # its nodes read /inputs/scale/Mul, /inputs/standardize/Sub
        self.steps = tuple(steps)

    def describe(self) -> str:
        return json.dumps([step.to_dict() for step in self.steps])


def with_preprocessing(module: nn.Module, steps: Sequence[Step]) -> nn.Module:
    """``module`` after a first layer ``inputs`` that applies ``steps``; ``module`` itself if
    there are none. A ``Sequential`` keeps its layers' names (``fc1``, ``conv1``), which the
    graph's weights and the per-layer reports are named after."""
    if not steps:
        return module
    layers = module.named_children() if isinstance(module, nn.Sequential) else [("model", module)]
    return nn.Sequential(OrderedDict([(LAYER, Preprocessing(steps)), *layers]))


def recorded(module: nn.Module) -> str | None:
    """The steps ``module``'s first layer applies, as JSON; None if it has no such layer."""
    first = getattr(module, LAYER, None)
    return first.describe() if isinstance(first, Preprocessing) else None

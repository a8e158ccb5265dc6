"""Models: the reference zoo, loading users' files safely, export to ONNX, baseline training.

The names that need PyTorch load on first use (PEP 562), so that loading an ONNX file (a
prediction worker starting, ``thrifty inspect``) does not import it. No lazy name is also the
name of a submodule (``train`` lives in ``training``): importing a submodule binds its name on
the package, which would hide the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from thrifty.lazy import lazy
from thrifty.models.load import load as load
from thrifty.models.model import Model as Model

_LAZY = {
    "to_torch": "thrifty.models.onnx_torch",
    "TrainConfig": "thrifty.models.training",
    "TrainResult": "thrifty.models.training",
    "train": "thrifty.models.training",
    "ZOO": "thrifty.models.zoo",
    "build": "thrifty.models.zoo",
}

__all__ = sorted([*_LAZY, "Model", "load"])


__getattr__ = lazy(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from thrifty.models.onnx_torch import to_torch as to_torch
    from thrifty.models.training import TrainConfig as TrainConfig
    from thrifty.models.training import TrainResult as TrainResult
    from thrifty.models.training import train as train
    from thrifty.models.zoo import ZOO as ZOO
    from thrifty.models.zoo import build as build

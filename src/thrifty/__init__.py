"""thrifty: make neural networks cheap to run, store and ship, and say what they cost in money.

>>> import thrifty as th
>>> data = th.datasets.load("digits")
>>> data.task
'classification'

``import thrifty`` is fast: PyTorch, ONNX Runtime and the rest load on first use of the names
below (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from thrifty import errors
from thrifty.errors import ThriftyError
from thrifty.version import __version__

# public name -> the module that defines it
_LAZY = {
    "datasets": "thrifty.datasets",
    "models": "thrifty.models",
    "measure": "thrifty.measure",
    "predict": "thrifty.predict",
    "report": "thrifty.report",
    "load": "thrifty.loading",
    "Model": "thrifty.models",
    "profile": "thrifty.measure",
    "Cost": "thrifty.measure",
    "Bill": "thrifty.measure",
    "Workload": "thrifty.measure",
    "Pricing": "thrifty.measure",
    "load_pricing": "thrifty.measure",
    "open_session": "thrifty.predict",
    "train_baseline": "thrifty.baseline",
    "compress": "thrifty.compress",
    "pack": "thrifty.pack",
    "unpack": "thrifty.pack",
    "inspect": "thrifty.pack",
    "optimize": "thrifty.optimize",
    "ship": "thrifty.ship",
    "push": "thrifty.ship",
    "pull": "thrifty.ship",
}

__all__ = ["ThriftyError", "__version__", "errors", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'thrifty' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    value = module if module.__name__ == f"thrifty.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from thrifty import datasets as datasets
    from thrifty import measure as measure
    from thrifty import models as models
    from thrifty import predict as predict
    from thrifty import report as report
    from thrifty import ship as ship
    from thrifty.baseline import train_baseline as train_baseline
    from thrifty.compress import compress as compress
    from thrifty.loading import load as load
    from thrifty.measure import Bill as Bill
    from thrifty.measure import Cost as Cost
    from thrifty.measure import Pricing as Pricing
    from thrifty.measure import Workload as Workload
    from thrifty.measure import load_pricing as load_pricing
    from thrifty.measure import profile as profile
    from thrifty.models import Model as Model
    from thrifty.optimize import optimize as optimize
    from thrifty.pack import inspect as inspect
    from thrifty.pack import pack as pack
    from thrifty.pack import unpack as unpack
    from thrifty.predict import open_session as open_session
    from thrifty.ship import pull as pull
    from thrifty.ship import push as push

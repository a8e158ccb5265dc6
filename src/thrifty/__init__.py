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

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY = {
    "datasets": "thrifty.datasets",
    "models": "thrifty.models",
    "measure": "thrifty.measure",
    "predict": "thrifty.predict",
    "report": "thrifty.report",
    "load": "thrifty.models",
    "Model": "thrifty.models",
    "profile": "thrifty.measure",
    "Cost": "thrifty.measure",
    "Bill": "thrifty.measure",
    "Workload": "thrifty.measure",
    "Pricing": "thrifty.measure",
    "load_pricing": "thrifty.measure",
    "open_session": "thrifty.predict",
    "train_baseline": "thrifty.models.baseline",
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


if TYPE_CHECKING:
    from thrifty import datasets, measure, models, predict, report
    from thrifty.measure import Bill, Cost, Pricing, Workload, load_pricing, profile
    from thrifty.models import Model, load
    from thrifty.models.baseline import train_baseline
    from thrifty.predict import open_session
